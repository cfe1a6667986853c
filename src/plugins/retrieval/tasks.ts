/**
 * The `retrieval` plugin's tasks: `retrieval.search` (text → ranked segments) and
 * `retrieval.rankTexts` (segment → ranked texts). Typed handles: the resolver runs them with
 * `context.tasks.run(searchTask, input)`, and a cluster gateway hands them to a worker.
 */
import type { TaskContext } from 'hbi-platform';
import { defineTask, handleEach } from 'hbi-platform';
import { z } from 'zod';

import type { RetrievalConfig } from './config.js';
import type { RankedTextResult } from './rank-texts.js';
import { rankTexts } from './rank-texts.js';
import type { SearchOutcome } from './search.js';
import { searchSegments } from './search.js';

/** `retrieval.search` input: the text and the filters; times are ISO-8601 strings on the wire. */
export const searchTaskInput = z.object({
  text: z.string(),
  videoIds: z.array(z.string()).nullish(),
  cameraIds: z.array(z.string()).nullish(),
  recordedAfter: z.iso.datetime({ offset: true }).nullish(),
  recordedBefore: z.iso.datetime({ offset: true }).nullish(),
});
export type SearchTaskInput = z.input<typeof searchTaskInput>;

/** `retrieval.rankTexts` input: one segment and the texts to rank against it (the count limit is config). */
export const rankTextsTaskInput = z.object({
  segmentId: z.string(),
  texts: z.array(z.string()).min(1).max(1000),
});
export type RankTextsTaskInput = z.input<typeof rankTextsTaskInput>;

/** One search per item → SearchOutcome; items fail alone (an empty text fails only its own item). */
export const searchTask = defineTask({
  kind: 'retrieval.search',
  input: searchTaskInput,
  maxBatchSize: 16,
  handle: (batch, context: TaskContext<RetrievalConfig>) =>
    handleEach(batch, (input): Promise<SearchOutcome> =>
      searchSegments(context, input.text, {
        videoIds: input.videoIds ?? null,
        cameraIds: input.cameraIds ?? null,
        recordedAfter: input.recordedAfter ? new Date(input.recordedAfter) : null,
        recordedBefore: input.recordedBefore ? new Date(input.recordedBefore) : null,
      }),
    ),
});

/** Texts ranked against one segment → RankedTextResult[], best first. */
export const rankTextsTask = defineTask({
  kind: 'retrieval.rankTexts',
  input: rankTextsTaskInput,
  maxBatchSize: 8,
  handle: (batch, context: TaskContext<RetrievalConfig>) =>
    handleEach(batch, (input): Promise<RankedTextResult[]> =>
      rankTexts(context, input.segmentId, input.texts),
    ),
});
