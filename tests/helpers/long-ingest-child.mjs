/**
 * Ingests one video in a process of its own, for the long-video test: boots the platform's built
 * modules (`dist` folder given), ingests the file with progress callbacks, and prints one JSON line: the
 * result, this process's peak RSS, and what each segmentIndexed callback saw (whether an ffmpeg child
 * was still running, and how many ran at once). Linux only (reads /proc).
 *
 * Usage: node long-ingest-child.mjs <dist> <video> <data dir> <model dir>
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, file, dataDir, modelDir] = process.argv.slice(2);
const load = (module) => import(pathToFileURL(path.join(dist, module)).href);

/** ffmpeg processes this process started that are still running. */
function ffmpegChildren() {
  let count = 0;
  for (const task of readdirSync('/proc/self/task')) {
    let children;
    try {
      children = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
    } catch {
      continue; // the thread ended between the listing and the read
    }
    for (const pid of children ? children.split(' ') : []) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'ffmpeg') count += 1;
      } catch {
        // gone meanwhile
      }
    }
  }
  return count;
}

const { loadConfig } = await load('core/config.js');
const { bootKernel } = await load('core/kernel.js');
const { createMemoryLogger } = await load('core/logger.js');
const { VideoIngestor } = await load('core/ingest/video-ingestor.js');

const config = loadConfig({ ...process.env, HBI_MODEL_DIR: modelDir, HBI_DATA_DIR: dataDir });
const kernel = await bootKernel(config, createMemoryLogger());
const bootRssKb = process.resourceUsage().maxRSS;
const progress = { planned: 0, indexed: 0, whileDecoding: 0, mostDecoders: 0 };
try {
  const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
  const result = await ingestor.ingestFile(
    { file },
    {
      segmentsPlanned: async (count) => void (progress.planned = count),
      segmentIndexed: async () => {
        progress.indexed += 1;
        const decoders = ffmpegChildren();
        if (decoders > 0) progress.whileDecoding += 1;
        progress.mostDecoders = Math.max(progress.mostDecoders, decoders);
      },
    },
  );
  process.stdout.write(
    JSON.stringify({ result, progress, bootRssKb, maxRssKb: process.resourceUsage().maxRSS }) + '\n',
  );
} finally {
  await kernel.stop();
}
