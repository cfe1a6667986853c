/** Settings of the `retrieval` plugin (its part of HBI_PLUGIN_CONFIG), with defaults. */
import { z } from 'zod';

export const retrievalConfigSchema = z.strictObject({
  /**
   * Near-duplicate groups (their representatives) the ANN stage hands to the HBI re-rank, or segments
   * when the search has filters.
   */
  candidates: z.number().int().min(1).max(1000).default(100),
  /** pgvector `hnsw.ef_search` for the ANN stage (recall vs latency); at least `candidates` is used. */
  efSearch: z.number().int().min(1).max(1000).default(100),
  /**
   * Hits made exact against a scan of every segment: the re-rank takes in the members of each
   * near-duplicate group that can still reach this many best hits (search.ts).
   */
  exactTop: z.number().int().min(1).max(1000).default(10),
  /**
   * Near-duplicate groups whose members the re-rank takes in first, best representatives first,
   * before the bound decides on the rest (search.ts); more costs latency, buys recall on corpora of
   * large mixed groups.
   */
  expandGroups: z.number().int().min(1).max(1000).default(3),
  /** Most segments one search re-ranks, representatives and group members together. */
  maxRerank: z.number().int().min(1).max(20_000).default(5000),
  /** Longest search (or ranked) text accepted, in characters. */
  maxTextLength: z.number().int().min(1).max(10_000).default(1000),
  /** Most texts one rankTexts request may rank against a segment. */
  maxRankTexts: z.number().int().min(1).max(1000).default(100),
});

export type RetrievalConfig = z.output<typeof retrievalConfigSchema>;
