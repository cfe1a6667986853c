import { readdir } from 'node:fs/promises';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { createFsObjectStore } from '../../../src/core/storage/fs.js';
import { tempDir } from '../../helpers/fixtures.js';
import { objectStoreContract } from './object-store-contract.js';

objectStoreContract('fs', async () => {
  const temp = await tempDir('hbi-objects-');
  return { store: await createFsObjectStore(temp.dir), cleanup: temp.cleanup };
});

describe('fs object store specifics', () => {
  it('gives ffmpeg a local path inside its root, and leaves no temporary files behind', async () => {
    const temp = await tempDir('hbi-objects-');
    try {
      const store = await createFsObjectStore(temp.dir);
      await store.put('videos/v1/original.mp4', Buffer.from('x'));
      expect(await store.localPath('videos/v1/original.mp4')).toBe(
        path.join(temp.dir, 'videos', 'v1', 'original.mp4'),
      );
      expect(await store.localPath('videos/none')).toBeNull();
      expect(await readdir(path.join(temp.dir, '.tmp'))).toEqual([]);
    } finally {
      await temp.cleanup();
    }
  });
});
