/** Settings of the `qa` plugin (its part of HBI_PLUGIN_CONFIG), with defaults. */
import { z } from 'zod';

export const qaConfigSchema = z.strictObject({
  /** Longest question accepted, in characters (LIMIT_EXCEEDED past it). */
  maxQuestionLength: z.number().int().min(1).max(10_000).default(1000),
  /** Most segments a whole-video question may span (LIMIT_EXCEEDED past it): each costs one `qa` run. */
  maxVideoSegments: z.number().int().min(1).max(100_000).default(1000),
  /** `qa` graph requests one question keeps in flight (the encoder's batcher stacks them). */
  concurrency: z.number().int().min(1).max(1024).default(32),
});

export type QaConfig = z.output<typeof qaConfigSchema>;
