/** `hbi search "<text>"`: the segments best matching a text, from a running server's `search` query. */
import type { Command } from '../args.js';
import { UsageError, intOption } from '../args.js';
import { writeJson } from '../io.js';
import { CLIENT_OPTIONS, clientOf, seconds, warningLines } from './client-options.js';

const SEARCH = `query HbiSearch($text: String!, $first: Int!) {
  search(text: $text, first: $first) {
    totalCount model
    warnings { code message words }
    edges { node { rank score similarity videoId segmentId videoTitle sourceUri startMs endMs } }
  }
}`;

interface SearchHit {
  rank: number;
  score: number;
  similarity: number;
  videoId: string;
  segmentId: string;
  videoTitle: string | null;
  sourceUri: string | null;
  startMs: number;
  endMs: number;
}

interface SearchResult {
  totalCount: number;
  model: string;
  warnings: { code: string; message: string; words: string[] }[];
  edges: { node: SearchHit }[];
}

export const searchCommand: Command = {
  name: 'search',
  summary: 'Find the video segments that best match a text (asks a running server)',
  usage: 'hbi search "<text>" [--first <n>] [--url <url>] [--json]',
  details: 'Prints one hit per line, best first: rank, HBI score, video, time span and segment id.',
  options: {
    first: { type: 'string', value: '<n>', description: 'How many hits to return (default 10)' },
    ...CLIENT_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const text = args.positionals[0]!;
    if (text.trim().length === 0) throw new UsageError('The search text is empty');
    const first = intOption(args, 'first', 10, 1, 1000);
    const { search } = await clientOf(args, io).request<{ search: SearchResult }>(SEARCH, { text, first });
    if (args.values.json) {
      writeJson(io.stdout, search);
      return 0;
    }
    io.stderr.write(warningLines(search.warnings));
    if (search.edges.length === 0) io.stdout.write('No indexed segment matches (is anything indexed yet?)\n');
    for (const { node } of search.edges) {
      const title = node.videoTitle ?? node.sourceUri ?? node.videoId;
      io.stdout.write(
        `${String(node.rank).padStart(3)}  ${node.score.toFixed(3)}  ${title}  ` +
          `${seconds(node.startMs)}–${seconds(node.endMs)}  segment ${node.segmentId}\n`,
      );
    }
    return 0;
  },
};
