/** Settings of the `retrieval` plugin (its part of HBI_PLUGIN_CONFIG), with defaults. */
import { z } from 'zod';

export const retrievalConfigSchema = z.strictObject({
  /** Segments the ANN stage hands to the HBI re-rank; also the deepest a client can page. */
  candidates: z.number().int().min(1).max(1000).default(100),
  /** pgvector `hnsw.ef_search` for the ANN stage (recall vs latency); at least `candidates` is used. */
  efSearch: z.number().int().min(1).max(1000).default(100),
  /** Longest search (or ranked) text accepted, in characters. */
  maxTextLength: z.number().int().min(1).max(10_000).default(1000),
  /** Most texts one rankTexts request may rank against a segment. */
  maxRankTexts: z.number().int().min(1).max(1000).default(100),
});

export type RetrievalConfig = z.output<typeof retrievalConfigSchema>;
