import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SegmentSpool } from '../../../src/cli/camera/spool.js';
import { tempDir } from '../../helpers/fixtures.js';

const CAMERA = '0b8d3c1e-5f4a-4b2c-9d7e-1a2b3c4d5e6f';
const facts = (index: number) => ({
  index,
  cameraId: CAMERA,
  capturedAt: new Date(Date.UTC(2030, 0, 1, 0, 0, index * 3)).toISOString(),
  durationMs: 3000,
});

describe('SegmentSpool', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  const video = async (name: string, bytes = 100) => {
    const file = path.join(temp.dir, name);
    await writeFile(file, Buffer.alloc(bytes, 1));
    return file;
  };
  beforeEach(async () => {
    temp = await tempDir('hbi-spool-');
    dir = path.join(temp.dir, 'spool');
  });
  afterEach(() => temp.cleanup());

  it('hands segments out oldest first and forgets them once removed', async () => {
    const spool = await SegmentSpool.open(dir, { maxSegments: 10, maxBytes: 10_000 });
    await spool.add(await video('b.mp4'), facts(5));
    await spool.add(await video('a.mp4'), facts(4));
    expect(spool.depth).toBe(2);
    expect(spool.bytes).toBe(200);
    expect(spool.oldest()).toMatchObject({ index: 4, cameraId: CAMERA, bytes: 100 });
    await spool.remove(4);
    expect(spool.oldest()?.index).toBe(5);
    await spool.remove(5);
    expect(spool.oldest()).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['state.json']);
  });

  it('is full at its segment or byte bound', async () => {
    const bySegments = await SegmentSpool.open(dir, { maxSegments: 2, maxBytes: 10_000 });
    await bySegments.add(await video('a.mp4'), facts(0));
    expect(bySegments.isFull()).toBe(false);
    await bySegments.add(await video('b.mp4'), facts(1));
    expect(bySegments.isFull()).toBe(true);
    const byBytes = await SegmentSpool.open(path.join(temp.dir, 'other'), { maxSegments: 10, maxBytes: 150 });
    await byBytes.add(await video('c.mp4', 160), facts(0));
    expect(byBytes.isFull()).toBe(true);
  });

  it('takes up what a previous run left, resumes numbering, and drops half-written entries', async () => {
    const first = await SegmentSpool.open(dir, { maxSegments: 10, maxBytes: 10_000 });
    await first.add(await video('a.mp4'), facts(7));
    await first.add(await video('b.mp4'), facts(8));
    await first.remove(8);
    // A crash between writing the facts and renaming the video in.
    await writeFile(path.join(dir, 'segment-00000009.json'), JSON.stringify(facts(9)));
    const second = await SegmentSpool.open(dir, { maxSegments: 10, maxBytes: 10_000 });
    expect(second.depth).toBe(1);
    expect(second.oldest()).toMatchObject(facts(7));
    expect(second.nextIndex).toBe(9);
    expect(await readdir(dir)).not.toContain('segment-00000009.json');
  });

  it('moves a refused segment to rejected/ instead of deleting it', async () => {
    const spool = await SegmentSpool.open(dir, { maxSegments: 10, maxBytes: 10_000 });
    await spool.add(await video('a.mp4'), facts(1));
    await spool.reject(1);
    expect(spool.depth).toBe(0);
    expect((await readdir(path.join(dir, 'rejected'))).sort()).toEqual([
      'segment-00000001.json',
      'segment-00000001.mp4',
    ]);
  });
});
