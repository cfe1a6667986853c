/**
 * The agent's local spool: finished segments wait here until the platform accepted them, so an outage
 * of the platform (or of the agent: the spool is re-read at start) loses nothing. Each segment is
 * `segment-<index>.mp4` with its facts beside it in `segment-<index>.json`; the JSON is written first
 * and the video renamed in last, so a segment is in the spool only once both are whole. The spool is
 * bounded (segments and bytes): when full the agent stops recording until uploads make room, rather
 * than dropping footage it already has. Segments the platform refuses for good move to `rejected/`.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What the platform needs to know about one segment besides its bytes. */
export interface SegmentFacts {
  /** The agent's running number for this camera (resumes after reconnects and restarts). */
  index: number;
  cameraId: string;
  /** ISO wall-clock time of the segment's first frame. */
  capturedAt: string;
  durationMs: number;
}

export interface SpooledSegment extends SegmentFacts {
  file: string;
  bytes: number;
}

export interface SpoolLimits {
  /** Most segments held; at this many the spool is full. */
  maxSegments: number;
  /** Most bytes held; past this the spool is full. */
  maxBytes: number;
}

const NAME = /^segment-(\d+)\.json$/;
const STATE_FILE = 'state.json';

export class SegmentSpool {
  readonly dir: string;
  readonly limits: SpoolLimits;
  readonly #segments = new Map<number, SpooledSegment>();
  #nextIndex = 0;

  private constructor(dir: string, limits: SpoolLimits) {
    this.dir = dir;
    this.limits = limits;
  }

  /** Opens (creating) the spool in `dir` and takes up the segments a previous run left there. */
  static async open(dir: string, limits: SpoolLimits): Promise<SegmentSpool> {
    const spool = new SegmentSpool(dir, limits);
    await mkdir(dir, { recursive: true });
    const state = await readFile(path.join(dir, STATE_FILE), 'utf8').then(
      (text) => JSON.parse(text) as { nextIndex?: unknown },
      () => ({ nextIndex: 0 }),
    );
    spool.#nextIndex = typeof state.nextIndex === 'number' ? state.nextIndex : 0;
    for (const name of await readdir(dir)) {
      const match = NAME.exec(name);
      if (!match) continue;
      const file = path.join(dir, name.replace(/\.json$/, '.mp4'));
      const facts = await readFile(path.join(dir, name), 'utf8')
        .then((text) => JSON.parse(text) as SegmentFacts)
        .catch(() => undefined);
      const size = await stat(file).then(
        (info) => info.size,
        () => undefined,
      );
      // A JSON without its video is a segment whose rename never happened: nothing to send.
      if (!facts || size === undefined) {
        await rm(path.join(dir, name), { force: true });
        continue;
      }
      spool.#segments.set(facts.index, { ...facts, file, bytes: size });
      spool.#nextIndex = Math.max(spool.#nextIndex, facts.index + 1);
    }
    return spool;
  }

  /** The number the next recorded segment gets. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** Segments waiting for the platform. */
  get depth(): number {
    return this.#segments.size;
  }

  get bytes(): number {
    let total = 0;
    for (const segment of this.#segments.values()) total += segment.bytes;
    return total;
  }

  /** True when no further segment may be added until one is removed. */
  isFull(): boolean {
    return this.depth >= this.limits.maxSegments || this.bytes >= this.limits.maxBytes;
  }

  /** The oldest waiting segment (lowest index), or undefined. */
  oldest(): SpooledSegment | undefined {
    let oldest: SpooledSegment | undefined;
    for (const segment of this.#segments.values())
      if (!oldest || segment.index < oldest.index) oldest = segment;
    return oldest;
  }

  /** Moves the finished video `file` (same filesystem) into the spool with its facts. */
  async add(file: string, facts: SegmentFacts): Promise<SpooledSegment> {
    const base = path.join(this.dir, `segment-${String(facts.index).padStart(8, '0')}`);
    await writeFile(`${base}.json`, JSON.stringify(facts));
    await rename(file, `${base}.mp4`);
    const { size } = await stat(`${base}.mp4`);
    const segment = { ...facts, file: `${base}.mp4`, bytes: size };
    this.#segments.set(facts.index, segment);
    if (facts.index >= this.#nextIndex) {
      this.#nextIndex = facts.index + 1;
      await writeFile(path.join(this.dir, STATE_FILE), JSON.stringify({ nextIndex: this.#nextIndex }));
    }
    return segment;
  }

  /** Deletes a segment the platform accepted. */
  async remove(index: number): Promise<void> {
    const segment = this.#segments.get(index);
    if (!segment) return;
    await rm(segment.file, { force: true });
    await rm(segment.file.replace(/\.mp4$/, '.json'), { force: true });
    this.#segments.delete(index);
  }

  /** Moves a segment the platform refused for good to `rejected/`, kept for a person to look at. */
  async reject(index: number): Promise<void> {
    const segment = this.#segments.get(index);
    if (!segment) return;
    const rejected = path.join(this.dir, 'rejected');
    await mkdir(rejected, { recursive: true });
    const json = segment.file.replace(/\.mp4$/, '.json');
    await rename(json, path.join(rejected, path.basename(json)));
    await rename(segment.file, path.join(rejected, path.basename(segment.file)));
    this.#segments.delete(index);
  }
}
