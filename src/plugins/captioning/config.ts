/** Settings of the `captioning` plugin (its part of HBI_PLUGIN_CONFIG), with defaults. */
import { z } from 'zod';

export const captioningConfigSchema = z.strictObject({
  /** Most segments a whole-video caption may span (LIMIT_EXCEEDED past it): each is decoded on its own. */
  maxVideoSegments: z.number().int().min(1).max(10_000).default(200),
  /** Segments of one request decoded at once (their `caption` runs share the encoder's batches). */
  concurrency: z.number().int().min(1).max(256).default(8),
  /**
   * Beam search length normalisation: a sequence scores `logProb / length^lengthPenalty` (0 = summed
   * log-probability, 1 = mean per token). Part of the cache key when not 1.
   */
  lengthPenalty: z.number().min(0).max(4).default(1),
});

export type CaptioningConfig = z.output<typeof captioningConfigSchema>;
