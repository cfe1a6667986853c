/**
 * The camera agent: records a source into fixed-length segments, spools them, uploads each to the
 * platform and follows its ingest job until the segment is searchable. Three loops share the spool:
 *
 * - recording: runs ffmpeg (recorder.ts); when the source drops it reconnects with exponential
 *   back-off and goes on numbering where it stopped; when the spool is full it pauses until uploads
 *   make room (footage already recorded is never dropped);
 * - uploading: oldest segment first, retried with back-off while the platform is away; a spooled file
 *   is deleted only after the server accepted it;
 * - watching: polls the ingest jobs of uploaded segments, and reports the lag from the end of a
 *   segment's recording to its being indexed, and how many segments wait (queue depth).
 *
 * Capture times follow the stream's clock from when ffmpeg started, never going backwards: for a live
 * source that is the wall clock; a file read faster than real time runs ahead of it.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from '../../core/logger.js';
import { Backoff, sleep } from './backoff.js';
import type { JobReport, PlatformClient } from './platform-client.js';
import { PlatformRequestError } from './platform-client.js';
import type { RecordedSegment, RecorderRun, RecorderSettings } from './recorder.js';
import { recorderArgs, startRecorder } from './recorder.js';
import type { SegmentSpool } from './spool.js';
import { tagSegment } from './tag-segment.js';

/** Where the agent is; the status line shows it. */
export type AgentPhase = 'connecting' | 'recording' | 'reconnecting' | 'paused' | 'draining' | 'stopped';

export interface AgentStatus {
  phase: AgentPhase;
  cameraId: string;
  recorded: number;
  uploaded: number;
  indexed: number;
  /** Segments whose upload was refused for good or whose ingest job failed. */
  failed: number;
  /** Segments in the spool, not yet accepted by the platform. */
  queueDepth: number;
  /** Uploaded segments whose ingest job has not finished. */
  awaitingIndex: number;
  reconnects: number;
  /** Milliseconds from the end of the last indexed segment's recording to its job finishing. */
  lastLagMs: number | null;
  maxLagMs: number | null;
  lastError: string | null;
}

export interface CameraAgentOptions {
  ffmpeg: string;
  recorder: RecorderSettings;
  cameraId: string;
  client: PlatformClient;
  spool: SegmentSpool;
  logger: Logger;
  /** Stop recording after this many segments, then finish uploading and indexing them. */
  maxSegments?: number;
  /** Waits between reconnects and between upload retries. */
  reconnect?: { initialMs: number; maxMs: number };
  /** Drop pieces shorter than this (what a source leaves when it drops mid-segment); default 500 ms. */
  minSegmentMs?: number;
  /** How often job states are read; default 1 s. */
  pollMs?: number;
  /** A connection without a new segment for this long is restarted; default 3 segments + 15 s. */
  stallMs?: number;
  /** How often `setCameraStatus(ONLINE)` refreshes lastSeenAt while recording; default 30 s. */
  heartbeatMs?: number;
}

interface Awaiting {
  index: number;
  capturedEndMs: number;
}

export class CameraAgent {
  readonly #options: CameraAgentOptions;
  readonly #status: AgentStatus;
  readonly #stopping = new AbortController();
  readonly #awaiting = new Map<string, Awaiting>();
  /** Aborted once recording has ended for good (ends the heartbeat). */
  readonly #recordingEnded = new AbortController();
  #wake: () => void = () => undefined;
  #run: RecorderRun | undefined;
  #recordingDone = false;
  /** The capture clock: where the next connection's timeline starts (ms since the epoch). */
  #clockMs = 0;
  readonly done: Promise<void>;

  constructor(options: CameraAgentOptions) {
    this.#options = options;
    this.#status = {
      phase: 'connecting',
      cameraId: options.cameraId,
      recorded: 0,
      uploaded: 0,
      indexed: 0,
      failed: 0,
      queueDepth: options.spool.depth,
      awaitingIndex: 0,
      reconnects: 0,
      lastLagMs: null,
      maxLagMs: null,
      lastError: null,
    };
    this.done = Promise.all([this.#record(), this.#upload(), this.#watch(), this.#heartbeat()]).then(
      async () => {
        this.#status.phase = 'stopped';
        await options.client.setCameraStatus(options.cameraId, 'OFFLINE').catch(() => undefined);
      },
    );
  }

  /** A copy of the current counters. */
  status(): AgentStatus {
    return { ...this.#status, queueDepth: this.#options.spool.depth, awaitingIndex: this.#awaiting.size };
  }

  /** Stops recording (closing the segment in hand), leaves the spool for the next run, marks the camera OFFLINE. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#run?.stop();
    this.#wake();
    await this.done;
  }

  async #record(): Promise<void> {
    const { spool, logger, recorder } = this.#options;
    const reconnect = new Backoff(this.#options.reconnect ?? { initialMs: 1000, maxMs: 30_000 });
    const rawDir = path.join(spool.dir, 'recording');
    const signal = this.#stopping.signal;
    while (!signal.aborted && !this.#enough()) {
      while (spool.isFull() && !signal.aborted) {
        this.#status.phase = 'paused';
        await sleep(200, signal);
      }
      if (signal.aborted) break;
      await rm(rawDir, { recursive: true, force: true });
      await mkdir(rawDir, { recursive: true });
      this.#status.phase = 'connecting';
      const startedMs = Math.max(Date.now(), this.#clockMs);
      let chain = Promise.resolve();
      let lastSegmentAt = Date.now();
      const run = startRecorder(
        this.#options.ffmpeg,
        recorderArgs(recorder, rawDir, spool.nextIndex),
        rawDir,
        (segment) => {
          lastSegmentAt = Date.now();
          reconnect.reset();
          chain = chain.then(() => this.#keep(segment, startedMs, run));
        },
      );
      this.#run = run;
      const stall = this.#options.stallMs ?? recorder.segmentSeconds * 3000 + 15_000;
      const watchdog = setInterval(() => {
        if (Date.now() - lastSegmentAt > stall) {
          logger.warn('no segment from the source for too long; reconnecting', { stallMs: stall });
          run.stop(1000);
        }
      }, 1000);
      const exit = await run.exited;
      clearInterval(watchdog);
      await chain;
      if (signal.aborted || this.#enough()) break;
      if (spool.isFull()) {
        logger.warn('spool full: recording paused until uploads make room', { queueDepth: spool.depth });
        continue;
      }
      const wait = reconnect.next();
      this.#status.phase = 'reconnecting';
      this.#status.reconnects++;
      this.#status.lastError = `source ended (${exit.code ?? exit.signal}): ${exit.reason || 'end of stream'}`;
      logger.warn('source dropped; reconnecting', {
        code: exit.code,
        reason: exit.reason,
        waitMs: wait,
        attempt: reconnect.failures,
      });
      await sleep(wait, signal);
    }
    this.#recordingDone = true;
    this.#status.phase = 'draining';
    this.#recordingEnded.abort();
    await rm(rawDir, { recursive: true, force: true }).catch(() => undefined);
    this.#wake();
  }

  /** Stamps a finished segment and moves it into the spool (or drops a fragment too short to be footage). */
  async #keep(segment: RecordedSegment, startedMs: number, run: RecorderRun): Promise<void> {
    const { spool, logger, cameraId } = this.#options;
    const durationMs = Math.round((segment.endSeconds - segment.startSeconds) * 1000);
    if (this.#enough() || durationMs < (this.#options.minSegmentMs ?? 500)) {
      if (!this.#enough()) logger.info('dropped a fragment', { index: segment.index, durationMs });
      await rm(segment.file, { force: true });
      return;
    }
    const capturedMs = startedMs + Math.round(segment.startSeconds * 1000);
    this.#clockMs = Math.max(this.#clockMs, capturedMs + durationMs);
    const facts = {
      index: segment.index,
      cameraId,
      capturedAt: new Date(capturedMs).toISOString(),
      durationMs,
    };
    const tagged = `${segment.file}.tagged.mp4`;
    try {
      await tagSegment(this.#options.ffmpeg, segment.file, tagged, facts);
      await spool.add(tagged, facts);
    } catch (error) {
      logger.error('could not spool a segment', { index: segment.index, error });
      this.#status.failed++;
      return;
    } finally {
      await rm(segment.file, { force: true });
    }
    this.#status.phase = 'recording';
    this.#status.recorded++;
    logger.info('segment recorded', { ...facts, queueDepth: spool.depth });
    // A full spool stops this connection; the recording loop resumes once uploads made room.
    if (this.#enough() || spool.isFull()) run.stop();
    this.#wake();
  }

  #enough(): boolean {
    const max = this.#options.maxSegments;
    return max !== undefined && this.#status.recorded >= max;
  }

  async #upload(): Promise<void> {
    const { spool, client, logger } = this.#options;
    const retry = new Backoff(this.#options.reconnect ?? { initialMs: 1000, maxMs: 30_000 });
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      const segment = spool.oldest();
      if (!segment) {
        if (this.#recordingDone) return;
        await this.#idle(1000);
        continue;
      }
      try {
        const { jobId } = await client.uploadSegment(segment);
        await spool.remove(segment.index);
        retry.reset();
        this.#status.uploaded++;
        this.#awaiting.set(jobId, {
          index: segment.index,
          capturedEndMs: Date.parse(segment.capturedAt) + segment.durationMs,
        });
        logger.info('segment uploaded', { index: segment.index, jobId, queueDepth: spool.depth });
      } catch (error) {
        this.#status.lastError = (error as Error).message;
        if (error instanceof PlatformRequestError && !error.retriable) {
          logger.error('the platform refused a segment; kept in rejected/', {
            index: segment.index,
            error: error.message,
          });
          this.#status.failed++;
          await spool.reject(segment.index);
          continue;
        }
        const wait = retry.next();
        logger.warn('upload failed; retrying', {
          index: segment.index,
          waitMs: wait,
          error: (error as Error).message,
        });
        await sleep(wait, signal);
      }
    }
  }

  async #watch(): Promise<void> {
    const { client, logger } = this.#options;
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      if (this.#awaiting.size === 0 && this.#recordingDone && this.#options.spool.depth === 0) return;
      await sleep(this.#options.pollMs ?? 1000, signal);
      const ids = [...this.#awaiting.keys()].slice(0, 20);
      let reports: JobReport[];
      try {
        reports = await client.jobs(ids);
      } catch (error) {
        logger.warn('cannot read ingest jobs', { error: (error as Error).message });
        continue;
      }
      for (const job of reports) this.#settle(job);
    }
  }

  #settle(job: JobReport): void {
    const awaiting = this.#awaiting.get(job.id);
    if (!awaiting || job.status === 'QUEUED' || job.status === 'RUNNING') return;
    this.#awaiting.delete(job.id);
    if (job.status !== 'SUCCEEDED') {
      this.#status.failed++;
      this.#status.lastError =
        `segment ${awaiting.index}: ${job.error?.code ?? job.status} ${job.error?.message ?? ''}`.trim();
      this.#options.logger.error('segment failed to index', {
        index: awaiting.index,
        jobId: job.id,
        error: job.error,
      });
      return;
    }
    const lagMs = Math.max(
      0,
      Date.parse(job.finishedAt ?? new Date().toISOString()) - awaiting.capturedEndMs,
    );
    this.#status.indexed++;
    this.#status.lastLagMs = lagMs;
    this.#status.maxLagMs = Math.max(this.#status.maxLagMs ?? 0, lagMs);
    this.#options.logger.info('segment indexed', {
      index: awaiting.index,
      videoId: job.videoId,
      lagMs,
      queueDepth: this.#options.spool.depth,
      awaitingIndex: this.#awaiting.size,
    });
  }

  async #heartbeat(): Promise<void> {
    const { client, cameraId, logger } = this.#options;
    const signal = this.#stopping.signal;
    while (!signal.aborted && !this.#recordingDone) {
      await client
        .setCameraStatus(cameraId, 'ONLINE')
        .catch((error: unknown) =>
          logger.warn('cannot report the camera ONLINE', { error: (error as Error).message }),
        );
      await sleep(
        this.#options.heartbeatMs ?? 30_000,
        AbortSignal.any([signal, this.#recordingEnded.signal]),
      );
    }
  }

  /** Waits for news (a segment recorded, recording ended, stop) or `ms`. */
  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
