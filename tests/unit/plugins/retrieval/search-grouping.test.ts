/**
 * search(groupBy: VIDEO | CAMERA): each video (or camera) once, with its best segment and how many more
 * of its segments matched, in the ranking's order.
 */
import 'reflect-metadata';

import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ClipPlatform } from '../../../helpers/segments.js';
import { startClipPlatform } from '../../../helpers/segments.js';
import { systemView } from '../../../helpers/system-scope.js';

type Json = Record<string, any>;

describe('retrieval plugin: grouped search', () => {
  let clips: ClipPlatform;
  const camera = randomUUID();

  beforeAll(async () => {
    clips = await startClipPlatform('hbi-grouping-', 'green');
    // Both videos were recorded by one camera.
    const db = systemView(clips.platform.kernel.db);
    const [video] = await db.prisma.video.findMany({ take: 1 });
    await db.prisma.camera.create({ data: { id: camera, tenantId: video!.tenantId, name: 'yard' } });
    await db.prisma.video.updateMany({ data: { cameraId: camera } });
  }, 120_000);
  afterAll(async () => clips?.stop());

  const search = async (groupBy?: string): Promise<Json> => {
    const answer = await clips.graphql(
      `query ($groupBy: SearchGrouping) {
        search(text: "a green square", first: 20, groupBy: $groupBy) {
          totalCount edges { node { segmentId videoId cameraId rank score moreMatches } }
        }
      }`,
      groupBy ? { groupBy } : {},
    );
    expect(answer.errors).toBeUndefined();
    return answer.data.search;
  };

  it('lists every segment by default, and each video once with its best segment and the count of the rest', async () => {
    const all = await search();
    const hits = all.edges.map((edge: Json) => edge.node);
    expect(all.totalCount).toBe(clips.longVideo.segmentIds.length + clips.colourVideo.segmentIds.length);
    expect(hits.every((hit: Json) => hit.moreMatches === 0 && hit.cameraId === camera)).toBe(true);

    const byVideo = await search('VIDEO');
    const groups = byVideo.edges.map((edge: Json) => edge.node);
    expect(byVideo.totalCount).toBe(2);
    expect(groups.map((hit: Json) => hit.rank)).toEqual([1, 2]);
    for (const group of groups) {
      const ofVideo = hits.filter((hit: Json) => hit.videoId === group.videoId);
      // The group's node is the video's best hit of the ungrouped ranking.
      expect(group.segmentId).toBe(ofVideo[0].segmentId);
      expect(group.score).toBe(ofVideo[0].score);
      expect(group.moreMatches).toBe(ofVideo.length - 1);
    }
    // Groups keep the ranking's order: the video of the best hit comes first.
    expect(groups[0].videoId).toBe(hits[0].videoId);
  });

  it('groups by camera: one node for the camera, counting every other match', async () => {
    const byCamera = await search('CAMERA');
    expect(byCamera.totalCount).toBe(1);
    const [only] = byCamera.edges.map((edge: Json) => edge.node);
    const all = await search();
    expect(only).toMatchObject({
      cameraId: camera,
      segmentId: all.edges[0].node.segmentId,
      moreMatches: all.totalCount - 1,
    });
  });
});
