/**
 * `hbi ingest <file|dir|url>...`: indexes videos into the configured database and object store directly
 * (no server; with the embedded defaults, not while `hbi serve` holds the database open). Folders contribute their video files (not recursive);
 * http(s) URLs are downloaded into the object store first. A progress line shows files and the current
 * file's segments; each file's result is printed as it finishes; one bad file never stops the rest.
 */
import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { loadConfig } from '../../core/config.js';
import { toHbiError } from '../../core/errors.js';
import { checkIngestUrl, downloadToStore, urlPolicy } from '../../core/ingest/ingest-sources.js';
import type { IngestResult } from '../../core/ingest/video-ingestor.js';
import { VideoIngestor } from '../../core/ingest/video-ingestor.js';
import { bootKernel } from '../../core/kernel.js';
import { createLogger } from '../../core/logger.js';
import { stripUrlSecrets } from '../../core/util/redact.js';
import type { Command } from '../args.js';
import { writeJson } from '../io.js';
import { createProgress } from '../progress.js';

/** File extensions a folder is searched for. */
export const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.ts']);

/** One thing to ingest, as named on the command line. */
export type IngestTarget = { kind: 'file'; file: string } | { kind: 'url'; url: string };

interface TargetResult {
  target: string;
  ok: boolean;
  videoId?: string;
  segments?: number;
  alreadyIndexed?: boolean;
  error?: { code: string; message: string };
}

export const ingestCommand: Command = {
  name: 'ingest',
  summary: 'Index video files, folders or http(s) URLs into the configured database',
  usage: 'hbi ingest <file|dir|url>... [--json] [--quiet]',
  details:
    'Works on the configured database directly; with the embedded one, stop `hbi serve` first (or use its\n' +
    'ingestVideo mutation). ' +
    'Already indexed videos are skipped. Exits 1 when any video failed; the others are still indexed.',
  options: {
    json: { type: 'boolean', description: 'Print the results as JSON when done' },
    quiet: { type: 'boolean', short: 'q', description: 'No progress line' },
  },
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER },
  async run(args, io) {
    const config = loadConfig(io.env);
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const targets = await expandTargets(args.positionals);
    if (targets.length === 0) {
      io.stderr.write(
        'hbi ingest: no video files found (looked for ' + [...VIDEO_EXTENSIONS].join(' ') + ')\n',
      );
      return 1;
    }
    const json = args.values.json === true;
    const progress = createProgress(io.stderr, 'ingest', args.values.quiet !== true);
    const kernel = await bootKernel(config, logger);
    const results: TargetResult[] = [];
    try {
      const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
      for (const [i, target] of targets.entries()) {
        // A URL's credentials and signed parameters are neither shown nor stored.
        const name = target.kind === 'file' ? target.file : stripUrlSecrets(target.url);
        let [planned, indexed] = [0, 0];
        const show = (note: string) =>
          progress.update(
            i + (planned > 0 ? indexed / planned : 0),
            targets.length,
            `${path.basename(name)} ${note}`,
          );
        const reports = {
          segmentsPlanned: (count: number) => {
            planned = count;
            show(`0/${count} segments`);
            return Promise.resolve();
          },
          segmentIndexed: () => {
            indexed++;
            show(`${indexed}/${planned} segments`);
            return Promise.resolve();
          },
        };
        show(target.kind === 'url' ? 'downloading' : 'hashing');
        let result: TargetResult;
        try {
          const done: IngestResult =
            target.kind === 'file'
              ? await ingestor.ingestFile(
                  { file: path.resolve(target.file), sourceUri: path.resolve(target.file) },
                  reports,
                )
              : await ingestUrl(kernel, ingestor, target.url, reports);
          result = { target: name, ok: true, ...done };
        } catch (error) {
          const failure = toHbiError(error);
          result = { target: name, ok: false, error: { code: failure.code, message: failure.message } };
        }
        results.push(result);
        progress.finish();
        if (!json) io.stdout.write(`[${i + 1}/${targets.length}] ${describe(result)}\n`);
      }
    } finally {
      await kernel.stop();
    }
    const failed = results.filter((result) => !result.ok).length;
    if (json) {
      const skipped = results.filter((result) => result.alreadyIndexed).length;
      writeJson(io.stdout, {
        results,
        indexed: results.length - failed - skipped,
        alreadyIndexed: skipped,
        failed,
      });
    }
    return failed > 0 ? 1 : 0;
  },
};

/** Files as given, folders as their video files (sorted, not recursive), http(s) URLs as downloads. */
export async function expandTargets(given: readonly string[]): Promise<IngestTarget[]> {
  const targets: IngestTarget[] = [];
  for (const item of given) {
    if (/^https?:\/\//i.test(item)) {
      targets.push({ kind: 'url', url: item });
      continue;
    }
    const info = await stat(item).catch(() => null);
    if (!info?.isDirectory()) {
      targets.push({ kind: 'file', file: item });
      continue;
    }
    const names = (await readdir(item)).filter((name) =>
      VIDEO_EXTENSIONS.has(path.extname(name).toLowerCase()),
    );
    targets.push(...names.sort().map((name) => ({ kind: 'file' as const, file: path.join(item, name) })));
  }
  return targets;
}

async function ingestUrl(
  kernel: Awaited<ReturnType<typeof bootKernel>>,
  ingestor: VideoIngestor,
  given: string,
  reports: Parameters<VideoIngestor['ingestObject']>[1],
): Promise<IngestResult> {
  // The operator's own command on the operator's machine: the local network is theirs to read, but
  // HBI_INGEST_URL_HOSTS still applies when set.
  const policy = { ...urlPolicy(kernel.config), allowPrivate: true };
  const url = checkIngestUrl(given, policy);
  const extension = /\.[a-z0-9]{1,8}$/i.exec(url.pathname)?.[0].toLowerCase() ?? '';
  const key = `uploads/cli-${randomUUID()}${extension}`;
  await downloadToStore(kernel.storage, key, url, {
    maxBytes: kernel.config.maxUploadBytes,
    timeoutMs: kernel.config.downloadTimeoutMs,
    policy,
    detailedErrors: true,
  });
  return ingestor.ingestObject(
    { key, sourceUri: stripUrlSecrets(given), title: path.basename(url.pathname) || url.host },
    reports,
  );
}

function describe(result: TargetResult): string {
  if (!result.ok) return `${result.target}: failed, ${result.error!.code}: ${result.error!.message}`;
  const what = result.alreadyIndexed ? 'already indexed' : `indexed, ${result.segments} segment(s)`;
  return `${result.target}: ${what} (video ${result.videoId})`;
}
