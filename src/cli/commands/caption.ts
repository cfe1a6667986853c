/** `hbi caption <id>`: a caption of a segment or a video, from a running server's `caption` query. */
import type { Command } from '../args.js';
import { intOption } from '../args.js';
import { writeJson } from '../io.js';
import { CLIENT_OPTIONS, clientOf, seconds } from './client-options.js';
import { SCOPE_OPTIONS, requestForScope } from './scope.js';

const CAPTION = `query HbiCaption($segmentId: ID, $videoId: ID, $decoding: Decoding!, $beamSize: Int!) {
  caption(segmentId: $segmentId, videoId: $videoId, decoding: $decoding, beamSize: $beamSize) {
    text score decoding beamSize cached modelVersion videoId segmentId
    segments { segmentId index startMs endMs text score }
  }
}`;

interface CaptionResult {
  text: string;
  segments: { startMs: number; endMs: number; text: string }[];
}

export const captionCommand: Command = {
  name: 'caption',
  summary: 'Caption a segment or a whole video (asks a running server)',
  usage: 'hbi caption <segment-or-video-id> [--beam <n>] [--segment|--video] [--url <url>] [--json]',
  details:
    'Greedy decoding unless --beam gives a beam width. The id is tried as a segment, then as a video,\n' +
    'unless --segment or --video says which. For a video, each segment’s caption follows on its own line.',
  options: {
    beam: {
      type: 'string',
      value: '<n>',
      description: 'Beam search with n beams (1-8) instead of greedy decoding',
    },
    ...SCOPE_OPTIONS,
    ...CLIENT_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const beam = args.values.beam === undefined ? undefined : intOption(args, 'beam', 3, 1, 8);
    const { caption } = await requestForScope<{ caption: CaptionResult }>(
      clientOf(args, io),
      args,
      'caption',
      'captioning',
      CAPTION,
      { decoding: beam === undefined ? 'GREEDY' : 'BEAM', beamSize: beam ?? 3 },
    );
    if (args.values.json) {
      writeJson(io.stdout, caption);
      return 0;
    }
    io.stdout.write(`${caption.text}\n`);
    if (caption.segments.length > 1) {
      for (const segment of caption.segments) {
        io.stdout.write(`  ${seconds(segment.startMs)}–${seconds(segment.endMs)}: ${segment.text}\n`);
      }
    }
    return 0;
  },
};
