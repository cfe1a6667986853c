/**
 * The tenant-isolation suite, run on PGlite (unit tier) and on PostgreSQL (integration tier): two
 * tenants hold the same clips; every task (search, rankTexts, answer, caption, and the sample external
 * plugin's moment.localise) run for one tenant sees only that tenant's segments and cache entries.
 * Tasks are run the way the gateway runs them for a request: through a task runner bound to the
 * request's tenant.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  localiseTask,
  momentLocalisationPlugin,
} from '../../examples/plugins/moment-localisation/src/index.js';
import type { Config } from '../../src/core/config.js';
import { VideoIngestor } from '../../src/core/ingest/video-ingestor.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { Platform } from '../../src/core/platform.js';
import { startPlatform } from '../../src/core/platform.js';
import { bindResultCache } from '../../src/core/plugins/result-cache.js';
import { DEFAULT_TENANT_ID } from '../../src/core/tenancy.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtins.js';
import { captionTask } from '../../src/plugins/captioning/index.js';
import { answerTask } from '../../src/plugins/qa/index.js';
import { rankTextsTask, searchTask } from '../../src/plugins/retrieval/index.js';
import { tempDir } from './fixtures.js';
import { tasksOf } from './tasks.js';
import { makeColorMp4, makeMp4 } from './videos.js';
import { systemView } from './system-scope.js';

interface TenantLibrary {
  tenantId: string;
  videoIds: string[];
  segmentIds: string[];
}

/**
 * Declares the suite. `configFor(dataDir)` gives the platform's config (an embedded database in
 * `dataDir`, or a PostgreSQL one); `release` undoes what it set up.
 */
export function describeTenantIsolation(
  name: string,
  configFor: (dataDir: string) => Promise<Config>,
  release: () => Promise<void> = async () => undefined,
): void {
  describe(`tenant isolation: ${name}`, () => {
    let temp: Awaited<ReturnType<typeof tempDir>>;
    let platform: Platform;
    const tenants: TenantLibrary[] = [
      { tenantId: DEFAULT_TENANT_ID, videoIds: [], segmentIds: [] },
      { tenantId: randomUUID(), videoIds: [], segmentIds: [] },
    ];
    const [a, b] = tenants as [TenantLibrary, TenantLibrary];

    beforeAll(async () => {
      temp = await tempDir('hbi-tenants-');
      platform = await startPlatform(await configFor(path.join(temp.dir, 'data')), createMemoryLogger(), {
        builtins: [...BUILTIN_PLUGINS, momentLocalisationPlugin],
      });
      const { kernel } = platform;
      const files = [
        await makeMp4(kernel.ffmpeg, temp.dir),
        await makeColorMp4(kernel.ffmpeg, temp.dir, 'red'),
      ];
      const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
      // The same bytes for both tenants: each gets its own videos, segments and vectors.
      for (const tenant of tenants) {
        for (const file of files) {
          const { videoId } = await ingestor.ingestFile({ file, tenantId: tenant.tenantId });
          tenant.videoIds.push(videoId);
          const { rows } = await systemView(kernel.db).query<{ id: string }>(
            `SELECT "id" FROM "segments" WHERE "video_id" = $1 ORDER BY "index"`,
            [videoId],
          );
          tenant.segmentIds.push(...rows.map((row) => row.id));
        }
      }
    });
    afterAll(async () => {
      await platform?.stop();
      await temp?.cleanup();
      await release();
    });

    it('gives each tenant its own copies of the same clips', () => {
      expect(a.segmentIds.length).toBeGreaterThan(1);
      expect(b.segmentIds.length).toBe(a.segmentIds.length);
      expect(a.videoIds.filter((id) => b.videoIds.includes(id))).toEqual([]);
    });

    it('search finds only the searching tenant’s segments, all of them', async () => {
      for (const [own, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const outcome = await tasksOf(platform, own.tenantId).run(searchTask, { text: 'a red circle' });
        const found = outcome.ranked.map((hit) => hit.segmentId);
        expect(found.sort()).toEqual([...own.segmentIds].sort());
        expect(found.filter((id) => other.segmentIds.includes(id))).toEqual([]);
        // Filtering by the other tenant's video finds nothing rather than its segments.
        const filtered = await tasksOf(platform, own.tenantId).run(searchTask, {
          text: 'a red circle',
          videoIds: other.videoIds,
        });
        expect(filtered.ranked).toEqual([]);
      }
    });

    it('rankTexts, answer, caption and moment.localise refuse the other tenant’s ids as NOT_FOUND', async () => {
      const own = tasksOf(platform, a.tenantId);
      const [otherVideo] = b.videoIds;
      const [otherSegment] = b.segmentIds;
      const notFound = { code: 'NOT_FOUND' };
      await expect(
        own.run(rankTextsTask, { segmentId: otherSegment!, texts: ['red'] }),
      ).rejects.toMatchObject(notFound);
      await expect(
        own.run(answerTask, { question: 'what colour?', videoId: otherVideo! }),
      ).rejects.toMatchObject(notFound);
      await expect(
        own.run(answerTask, { question: 'what colour?', segmentId: otherSegment! }),
      ).rejects.toMatchObject(notFound);
      await expect(own.run(captionTask, { videoId: otherVideo! })).rejects.toMatchObject(notFound);
      await expect(own.run(captionTask, { segmentId: otherSegment! })).rejects.toMatchObject(notFound);
      await expect(own.run(localiseTask, { videoId: otherVideo!, text: 'red' })).rejects.toMatchObject(
        notFound,
      );
      // The same requests on the tenant's own ids work.
      expect(
        await own.run(rankTextsTask, { segmentId: a.segmentIds[0]!, texts: ['red', 'blue'] }),
      ).toHaveLength(2);
      expect((await own.run(answerTask, { question: 'what colour?', videoId: a.videoIds[0]! })).videoId).toBe(
        a.videoIds[0],
      );
      expect((await own.run(captionTask, { videoId: a.videoIds[0]! })).videoId).toBe(a.videoIds[0]);
      expect((await own.run(localiseTask, { videoId: a.videoIds[0]!, text: 'red' })).videoId).toBe(
        a.videoIds[0],
      );
    });

    it('caches answers and captions per tenant: entries name only the tenant’s own videos', async () => {
      for (const tenant of tenants) {
        const tasks = tasksOf(platform, tenant.tenantId);
        const first = await tasks.run(answerTask, {
          question: 'what shape is it?',
          videoId: tenant.videoIds[1]!,
        });
        const again = await tasks.run(answerTask, {
          question: 'what shape is it?',
          videoId: tenant.videoIds[1]!,
        });
        expect(again.cached).toBe(true);
        expect(again.answer).toBe(first.answer);
        await tasks.run(captionTask, { videoId: tenant.videoIds[1]! });
        expect((await tasks.run(captionTask, { videoId: tenant.videoIds[1]! })).cached).toBe(true);
      }
      const { rows } = await systemView(platform.kernel.db).query<{
        tenant_id: string;
        video_id: string;
        plugin: string;
      }>(`SELECT "tenant_id", "video_id", "plugin" FROM "plugin_cache"`);
      for (const tenant of tenants) {
        const own = rows.filter((row) => row.tenant_id === tenant.tenantId);
        expect(new Set(own.map((row) => row.plugin))).toEqual(new Set(['qa', 'captioning']));
        expect(own.every((row) => tenant.videoIds.includes(row.video_id))).toBe(true);
      }
    });

    it('a result cache reads only its own tenant’s, plugin’s and model version’s entries', async () => {
      const { db, modelVersion } = platform.kernel;
      const cacheOf = (tenantId: string, plugin: string) =>
        bindResultCache(db, { tenantId, plugin, modelVersionId: modelVersion.id });
      const schema = z.object({ who: z.string() });
      await cacheOf(a.tenantId, 'qa').write([
        { key: 'shared-key', value: { who: 'a/qa' }, videoId: a.videoIds[0]! },
      ]);
      await cacheOf(b.tenantId, 'qa').write([
        { key: 'shared-key', value: { who: 'b/qa' }, videoId: b.videoIds[0]! },
      ]);
      await cacheOf(a.tenantId, 'captioning').write([{ key: 'shared-key', value: { who: 'a/captioning' } }]);
      const read = async (tenantId: string, plugin: string) =>
        (await cacheOf(tenantId, plugin).read(['shared-key'], schema)).get('shared-key')?.who;
      expect(await read(a.tenantId, 'qa')).toBe('a/qa');
      expect(await read(b.tenantId, 'qa')).toBe('b/qa');
      expect(await read(a.tenantId, 'captioning')).toBe('a/captioning');
      expect(await read(b.tenantId, 'captioning')).toBeUndefined();
      // A value the schema refuses (an older plugin's shape) reads as absent, not as an error.
      expect((await cacheOf(a.tenantId, 'qa').read(['shared-key'], z.object({ n: z.number() }))).size).toBe(
        0,
      );
    });

    it('deleting a video deletes its cache entries and no other tenant’s', async () => {
      const victim = b.videoIds[1]!;
      const before = await cacheCount(platform, b.tenantId);
      const deletion = await platform.library.requests.deleteVideo(victim, b.tenantId);
      expect(deletion).toBeTruthy();
      const { rows } = await systemView(platform.kernel.db).query<{ n: number }>(
        `SELECT count(*)::int AS "n" FROM "plugin_cache" WHERE "video_id" = $1`,
        [victim],
      );
      expect(rows[0]!.n).toBe(0);
      expect(await cacheCount(platform, b.tenantId)).toBeLessThan(before);
      // Tenant a's entries for its copy of the same clip stay.
      const { rows: kept } = await systemView(platform.kernel.db).query<{ n: number }>(
        `SELECT count(*)::int AS "n" FROM "plugin_cache" WHERE "video_id" = $1`,
        [a.videoIds[1]],
      );
      expect(kept[0]!.n).toBeGreaterThan(0);
    });
  });
}

async function cacheCount(platform: Platform, tenantId: string): Promise<number> {
  const { rows } = await systemView(platform.kernel.db).query<{ n: number }>(
    `SELECT count(*)::int AS "n" FROM "plugin_cache" WHERE "tenant_id" = $1`,
    [tenantId],
  );
  return rows[0]!.n;
}
