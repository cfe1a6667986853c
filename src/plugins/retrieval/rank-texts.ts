/**
 * Video → text ranking for one segment: encode each text (shared encoder, `text` graph; the batcher
 * stacks them), score all of them against the segment's stored frame tokens in one `interaction` run,
 * and return them best first. Ties keep the order the texts were given in.
 */
import type { TaskContext } from 'hbi-platform';
import { HbiError, checkText } from 'hbi-platform';

import type { RetrievalConfig } from './config.js';

/** One ranked text, as the `retrieval.rankTexts` task returns it (plain JSON). */
export interface RankedTextResult {
  text: string;
  /** 0-based position in the request. */
  index: number;
  /** HBI interaction score against the segment. */
  score: number;
  /** 1-based rank, best first. */
  rank: number;
  unknownWords: string[];
  truncated: boolean;
}

/** Ranks `texts` for one segment; BAD_USER_INPUT for an empty text, LIMIT_EXCEEDED past the limits. */
export async function rankTexts(
  context: TaskContext<RetrievalConfig>,
  segmentId: string,
  texts: readonly string[],
): Promise<RankedTextResult[]> {
  const { config, encoder, segments } = context;
  if (texts.length === 0) throw new HbiError('BAD_USER_INPUT', 'Give at least one text to rank');
  if (texts.length > config.maxRankTexts) {
    throw new HbiError(
      'LIMIT_EXCEEDED',
      `rankTexts takes at most ${config.maxRankTexts} texts; ${texts.length} were given`,
      { details: { texts: texts.length, limit: config.maxRankTexts } },
    );
  }
  const trimmed = texts.map((text, index) =>
    checkText(text, config.maxTextLength, `Text ${index}`, { index }),
  );
  const [segment] = await segments.frames({ kind: 'segment', segmentId });
  const encoded = await Promise.all(trimmed.map((text) => encoder.encodeText(text)));
  const scores = await encoder.interaction(encoded, [segment!]);
  return texts
    .map((text, index) => ({
      text,
      index,
      score: scores[index]!,
      unknownWords: encoded[index]!.unknownWords,
      truncated: encoded[index]!.truncated,
    }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map((ranked, position) => ({ ...ranked, rank: position + 1 }));
}
