/**
 * `hbi camera`: the camera agent (src/cli/camera) from the command line. It talks to a running
 * platform over GraphQL (`--url`), or starts one in this process (`--url embedded`), registers the
 * camera, then records, uploads and follows segments until SIGINT/SIGTERM (or `--max-segments`).
 * Log lines go to stderr, with a status line (phase, counts, queue depth, lag) that redraws in place
 * on a terminal.
 */
import path from 'node:path';

import { CameraAgent } from '../camera/camera-agent.js';
import type { AgentStatus } from '../camera/camera-agent.js';
import { createPlatformClient } from '../camera/platform-client.js';
import type { RecorderSettings } from '../camera/recorder.js';
import { sourceKind } from '../camera/recorder.js';
import { SegmentSpool } from '../camera/spool.js';
import { loadConfig } from '../../core/config.js';
import { HbiError } from '../../core/errors.js';
import type { LogRecord } from '../../core/logger.js';
import { createLogger } from '../../core/logger.js';
import type { Platform } from '../../core/platform.js';
import { startPlatform } from '../../core/platform.js';
import { isUuid } from '../../core/util/ids.js';
import { stripUrlSecrets } from '../../core/util/redact.js';
import { locateFfmpeg } from '../../core/video/ffmpeg-tools.js';
import { BUILTIN_PLUGINS } from '../../plugins/builtins.js';
import { resolveApiKey, resolveApiUrl } from '../api-client.js';
import type { Command, ParsedArgs } from '../args.js';
import { UsageError, intOption, stringOption } from '../args.js';
import type { CliOutput } from '../io.js';
import { writeJson } from '../io.js';
import { createProgress } from '../progress.js';

/** `10s`, `1.5m`, `500ms` or a bare number of seconds, as seconds; undefined when not a duration. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return unit === 'ms' ? value / 1000 : unit === 'm' ? value * 60 : value;
}

function booleanText(args: ParsedArgs, name: string, fallback: boolean): boolean {
  const given = stringOption(args, name);
  if (given === undefined) return fallback;
  if (/^(true|yes|1)$/i.test(given)) return true;
  if (/^(false|no|0)$/i.test(given)) return false;
  throw new UsageError(`--${name} must be true or false, got ${JSON.stringify(given)}`);
}

/** The recorder settings the options describe; UsageError for bad values. */
export function recorderSettingsOf(args: ParsedArgs): RecorderSettings {
  const source = stringOption(args, 'source');
  if (!source) throw new UsageError('--source is required');
  const segment = parseDurationSeconds(stringOption(args, 'segment') ?? '10s');
  if (segment === undefined || segment < 1 || segment > 600) {
    throw new UsageError('--segment must be a duration from 1s to 10m, such as 10s');
  }
  const codec = stringOption(args, 'codec') ?? 'h264';
  if (codec !== 'h264' && codec !== 'copy') throw new UsageError('--codec must be h264 or copy');
  try {
    sourceKind(source);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    source,
    segmentSeconds: segment,
    realtime: booleanText(args, 'realtime', true),
    loop: args.values.loop === true,
    codec,
  };
}

/** `key=value` log lines for people (the platform's own logs stay JSON). */
function textSink(output: CliOutput): (record: LogRecord) => void {
  return (record) => {
    const fields = Object.entries(record.fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const clear = output.isTTY ? '\r\x1b[2K' : '';
    output.write(
      `${clear}${new Date().toISOString()} ${record.level} ${record.message}${fields ? ` ${fields}` : ''}\n`,
    );
  };
}

/** The status line's text. */
export function statusNote(status: AgentStatus): string {
  const lag = status.lastLagMs === null ? '–' : `${(status.lastLagMs / 1000).toFixed(1)} s`;
  return (
    `${status.phase} · uploaded ${status.uploaded} · indexed ${status.indexed} · queue ${status.queueDepth}` +
    ` · awaiting ${status.awaitingIndex} · lag ${lag} · reconnects ${status.reconnects}` +
    (status.failed > 0 ? ` · failed ${status.failed}` : '')
  );
}

export const cameraCommand: Command = {
  name: 'camera',
  summary: 'Stream a camera (file, rtsp, http(s) or device) into the platform as fixed-length segments',
  usage: 'hbi camera --source <file|rtsp://…|http(s)://…|/dev/videoN> --camera <id|name> [options]',
  details:
    'Cuts the stream into segments with ffmpeg, spools them under --spool, uploads each through the\n' +
    "GraphQL API (createUpload + PUT) with the camera's id and the capture time, and follows its ingest\n" +
    'job. Reconnects with back-off when the source drops; retries uploads while the platform is away\n' +
    '(nothing is deleted before the server accepted it). --url embedded starts the platform in this process.',
  options: {
    source: {
      type: 'string',
      value: '<source>',
      description: 'File, rtsp(s):// or http(s):// URL, or capture device',
    },
    camera: {
      type: 'string',
      value: '<id|name>',
      description: 'The camera: its id (a uuid), or a name (registered when missing)',
    },
    name: {
      type: 'string',
      value: '<name>',
      description: 'Display name when --camera is an id (default: the id)',
    },
    segment: { type: 'string', value: '<duration>', description: 'Segment length, e.g. 10s (default 10s)' },
    key: {
      type: 'string',
      value: '<api key>',
      description:
        'A write (or admin) API key of the tenant the camera belongs to (default: $HBI_API_KEY, else <HBI_DATA_DIR>/admin-key)',
    },
    url: {
      type: 'string',
      value: '<url|embedded>',
      description: 'GraphQL endpoint (default: $HBI_URL, else http://127.0.0.1:4000/graphql), or "embedded"',
    },
    loop: { type: 'boolean', description: 'Files: start again at the end, for ever' },
    realtime: {
      type: 'string',
      value: '<true|false>',
      description: 'Files: read at the native frame rate like a live camera (default true)',
    },
    codec: {
      type: 'string',
      value: '<h264|copy>',
      description: 'Re-encode (exact lengths; default) or copy the stream',
    },
    spool: {
      type: 'string',
      value: '<dir>',
      description: 'Spool folder (default <data dir>/camera-spool/<camera>)',
    },
    'spool-segments': {
      type: 'string',
      value: '<n>',
      description: 'Most segments spooled before recording pauses (default 1000)',
    },
    'spool-mb': {
      type: 'string',
      value: '<n>',
      description: 'Most megabytes spooled before recording pauses (default 2048)',
    },
    'max-segments': {
      type: 'string',
      value: '<n>',
      description: 'Stop after this many segments, once they are indexed',
    },
    json: { type: 'boolean', description: 'Print the final counters as JSON' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const recorder = recorderSettingsOf(args);
    const camera = stringOption(args, 'camera');
    if (!camera?.trim()) throw new UsageError('--camera is required');
    const maxSegmentsText = stringOption(args, 'max-segments');
    const maxSegments =
      maxSegmentsText === undefined ? undefined : intOption(args, 'max-segments', 0, 1, 1_000_000);
    const spoolLimits = {
      maxSegments: intOption(args, 'spool-segments', 1000, 1, 1_000_000),
      maxBytes: intOption(args, 'spool-mb', 2048, 1, 1_000_000) * 1024 * 1024,
    };
    const embedded = stringOption(args, 'url') === 'embedded';
    const url = embedded ? undefined : resolveApiUrl(stringOption(args, 'url'), io.env);
    const config = loadConfig(io.env);
    const logger = createLogger(config.logLevel, textSink(io.stderr), {});
    const ffmpeg = await locateFfmpeg({ ffmpegPath: config.ffmpegPath });

    let platform: Platform | undefined;
    if (embedded) {
      platform = await startPlatform(config, createLogger(config.logLevel), { builtins: BUILTIN_PLUGINS });
      logger.info('embedded platform is up', { url: platform.gateway.url });
    }
    const progress = createProgress(io.stderr, 'camera', !args.values.json);
    let agent: CameraAgent | undefined;
    const stop = () => void agent?.stop();
    try {
      // A camera agent needs a write key: --key, $HBI_API_KEY, or the embedded platform's own admin key.
      const apiKey = platform?.adminKey ?? resolveApiKey(stringOption(args, 'key'), io.env);
      const client = createPlatformClient(platform?.gateway.url ?? url!, {
        fetch: io.fetch,
        ...(apiKey ? { apiKey } : {}),
      });
      // The platform keeps the source for display only: its credentials never leave this machine.
      const sourceUrl = stripUrlSecrets(recorder.source);
      const registered = await client.registerCamera(
        isUuid(camera)
          ? { id: camera, name: stringOption(args, 'name') ?? camera, sourceUrl }
          : { name: camera, sourceUrl },
      );
      const spoolDir =
        stringOption(args, 'spool') ?? path.join(config.dataDir, 'camera-spool', registered.id);
      const spool = await SegmentSpool.open(path.resolve(spoolDir), spoolLimits);
      logger.info('camera registered', {
        cameraId: registered.id,
        name: registered.name,
        spool: spool.dir,
        queueDepth: spool.depth,
      });
      agent = new CameraAgent({
        ffmpeg: ffmpeg.ffmpeg,
        recorder,
        cameraId: registered.id,
        client,
        spool,
        logger,
        ...(maxSegments === undefined ? {} : { maxSegments }),
      });
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const ticker = setInterval(() => {
        const status = agent!.status();
        progress.update(status.recorded, maxSegments ?? 0, statusNote(status));
      }, 1000);
      await agent.done.finally(() => clearInterval(ticker));
      const status = agent.status();
      progress.finish(`camera ${registered.name}: ${statusNote(status)}`);
      if (args.values.json) writeJson(io.stdout, status);
      return status.failed > 0 ? 1 : 0;
    } catch (error) {
      if (error instanceof Error && error.name === 'PlatformRequestError') {
        throw new HbiError('UNAVAILABLE', error.message, { cause: error });
      }
      throw error;
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      await platform?.stop();
    }
  },
};
