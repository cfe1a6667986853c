/** Settings of the `moment-localisation` plugin (its part of HBI_PLUGIN_CONFIG), with defaults. */
import { z } from 'zod';

export const momentConfigSchema = z.strictObject({
  /**
   * Default smoothing width in ms when a request gives none; 0 = four times the video's typical
   * segment stride, so each segment's direct neighbours count half as much as itself.
   */
  smoothingWindowMs: z.number().int().min(0).max(3_600_000).default(0),
  /** A neighbour joins the best span while its smoothed score is at least this far up from the curve's minimum to its peak (0..1). */
  spanThreshold: z.number().min(0).max(1).default(0.8),
  /** Segments scored per run of the interaction graph (bounds memory on very long videos). */
  chunkSize: z.number().int().min(1).max(10_000).default(256),
  /** Longest text accepted, in characters. */
  maxTextLength: z.number().int().min(1).max(10_000).default(1000),
});

export type MomentConfig = z.output<typeof momentConfigSchema>;
