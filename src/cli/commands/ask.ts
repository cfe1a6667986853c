/** `hbi ask <id> "<question>"`: a question about a segment or a video, from a running server's `answer` query. */
import type { Command } from '../args.js';
import { UsageError } from '../args.js';
import { writeJson } from '../io.js';
import { CLIENT_OPTIONS, clientOf, seconds, warningLines } from './client-options.js';
import { SCOPE_OPTIONS, requestForScope } from './scope.js';

const ANSWER = `query HbiAsk($question: String!, $segmentId: ID, $videoId: ID) {
  answer(question: $question, segmentId: $segmentId, videoId: $videoId) {
    question answer confidence scope videoId segmentId cached modelVersion
    alternatives { answer confidence }
    segments { segmentId index startMs endMs answer confidence }
    warnings { code message }
  }
}`;

interface AnswerResult {
  question: string;
  answer: string;
  confidence: number;
  scope: 'SEGMENT' | 'VIDEO';
  alternatives: { answer: string; confidence: number }[];
  segments: { index: number; startMs: number; endMs: number; answer: string; confidence: number }[];
  warnings: { code: string; message: string }[];
}

const percent = (share: number) => `${(100 * share).toFixed(0)}%`;

export const askCommand: Command = {
  name: 'ask',
  summary: 'Ask a question about a segment or a whole video (asks a running server)',
  usage: 'hbi ask <segment-or-video-id> "<question>" [--segment|--video] [--url <url>] [--json]',
  details:
    'The id is tried as a segment, then as a video, unless --segment or --video says which.\n' +
    'Prints the answer with its confidence, the runner-up answers, and for a video each segment’s own answer.',
  options: { ...SCOPE_OPTIONS, ...CLIENT_OPTIONS },
  positionals: { min: 2, max: 2 },
  async run(args, io) {
    const question = args.positionals[1]!;
    if (question.trim().length === 0) throw new UsageError('The question is empty');
    const { answer } = await requestForScope<{ answer: AnswerResult }>(
      clientOf(args, io),
      args,
      'answer',
      'qa',
      ANSWER,
      { question },
    );
    if (args.values.json) {
      writeJson(io.stdout, answer);
      return 0;
    }
    io.stderr.write(warningLines(answer.warnings));
    io.stdout.write(`${answer.answer} (${percent(answer.confidence)})\n`);
    const others = answer.alternatives.map((alt) => `${alt.answer} ${percent(alt.confidence)}`);
    if (others.length > 0) io.stdout.write(`  also: ${others.join(', ')}\n`);
    if (answer.scope === 'VIDEO') {
      for (const segment of answer.segments) {
        io.stdout.write(
          `  ${seconds(segment.startMs)}–${seconds(segment.endMs)}: ${segment.answer} (${percent(segment.confidence)})\n`,
        );
      }
    }
    return 0;
  },
};
