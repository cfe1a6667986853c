import 'reflect-metadata';

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApiKeyStore } from '../../../src/core/auth/api-keys.js';
import { loadConfig } from '../../../src/core/config.js';
import { readDemoLibrary } from '../../../src/core/ingest/demo-library.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { MediaService } from '../../../src/core/media/media-links.js';
import { MediaTokens } from '../../../src/core/media/media-tokens.js';
import type { Platform } from '../../../src/core/platform.js';
import { startPlatform } from '../../../src/core/platform.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/tenancy.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import { tempDir } from '../../helpers/fixtures.js';
import type { GatewayClient } from '../../helpers/gateway-client.js';
import { gatewayClient } from '../../helpers/gateway-client.js';
import { systemView } from '../../helpers/system-scope.js';

type Json = Record<string, any>;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = path.join(ROOT, 'models/hbi-synth-tiny');
const LIBRARY = path.join(ROOT, 'examples/demo-library/library.json');
const SECRET = 'media-test-secret-0123456789abcdef0123456789';
const TTL_SECONDS = 600;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command}: ${err}`))));
  });
}

/** The signed payload of a gateway media URL. */
function grantOf(url: string): Json {
  const token = new URL(url).pathname.slice('/media/'.length);
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Json;
}

const VIDEO_FIELDS = `id status posterUrl playbackUrl
  segments { edges { node { index startMs endMs thumbnailUrl playbackUrl } } }`;

describe('media in the API: thumbnails, posters, playback URLs, signed and tenant-bound', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  const logger = createMemoryLogger();
  let ingestRoot: string;
  const otherTenant = randomUUID();
  const keys: { read?: string; write?: string; otherWrite?: string } = {};
  let admin: GatewayClient;
  let demo: { file: string; caption: string };
  let avi: string;
  const ids: { demoA?: string; aviA?: string; demoB?: string } = {};

  const client = (key?: string) => gatewayClient(platform.gateway.url, key);
  const ingest = async (as: GatewayClient, file: string, title: string): Promise<string> => {
    const queued = await as.graphql(
      'mutation ($path: String, $title: String!) { ingestVideo(path: $path, title: $title) { id } }',
      { path: file, title },
    );
    expect(queued.body.errors).toBeUndefined();
    const job = await as.finishedJob(queued.body.data.ingestVideo.id as string, 120_000);
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    return job.videoId as string;
  };
  const video = async (as: GatewayClient, id: string): Promise<Json> => {
    const answer = await as.graphql(`query ($id: ID!) { video(id: $id) { ${VIDEO_FIELDS} } }`, { id });
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data.video as Json;
  };
  const bytes = async (url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(url, { headers });
    return { response, body: Buffer.from(await response.arrayBuffer()) };
  };
  const probe = async (body: Buffer, name: string): Promise<Json> => {
    const file = path.join(temp.dir, `${randomUUID()}-${name}`);
    await writeFile(file, body);
    return JSON.parse(
      await run(platform.kernel.ffmpeg.ffprobe ?? 'ffprobe', [
        '-v', 'error', '-show_entries', 'stream=codec_name,codec_type,width,height:format=format_name',
        '-of', 'json', file,
      ]), // prettier-ignore
    ) as Json;
  };
  const mediaKeys = async (tenantId: string, videoId: string): Promise<string[]> => {
    const found: string[] = [];
    for await (const object of platform.kernel.storage.list(`tenants/${tenantId}/media/${videoId}/`)) {
      found.push(object.key);
    }
    return found;
  };

  beforeAll(async () => {
    temp = await tempDir('hbi-media-');
    ingestRoot = path.join(temp.dir, 'ingest');
    await mkdir(ingestRoot);
    const config = loadConfig({
      HBI_MODEL_DIR: MODEL,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_INGEST_ROOTS: ingestRoot,
      HBI_UPLOAD_SECRET: SECRET,
      HBI_MEDIA_URL_TTL_SECONDS: String(TTL_SECONDS),
      HBI_RATE_KEY_COST_PER_MINUTE: '0',
      HBI_RATE_TENANT_COST_PER_MINUTE: '0',
      HBI_RATE_ANONYMOUS_COST_PER_MINUTE: '0',
    });
    platform = await startPlatform(config, logger, { builtins: BUILTIN_PLUGINS });
    admin = client(platform.adminKey);
    const store = new ApiKeyStore(platform.kernel.db);
    await systemView(platform.kernel.db).prisma.tenant.create({ data: { id: otherTenant, name: 'other' } });
    keys.read = (await store.create({ tenantId: DEFAULT_TENANT_ID, name: 'reader', role: 'read' })).token;
    keys.write = (await store.create({ tenantId: DEFAULT_TENANT_ID, name: 'writer', role: 'write' })).token;
    keys.otherWrite = (await store.create({ tenantId: otherTenant, name: 'other', role: 'write' })).token;

    const library = await readDemoLibrary(LIBRARY);
    const clip = library.clips[0]!;
    demo = { file: path.join(ingestRoot, 'demo.mp4'), caption: clip.captions[0]! };
    await copyFile(path.resolve(path.dirname(LIBRARY), clip.file), demo.file);
    // 12 s of MJPEG in AVI (browsers play neither): two 10 s segments with the default 2 s overlap.
    avi = path.join(ingestRoot, 'camera.avi');
    await run(platform.kernel.ffmpeg.ffmpeg, [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '12',
      '-c:v', 'mjpeg', '-q:v', '5', avi,
    ]); // prettier-ignore

    ids.demoA = await ingest(client(keys.write), demo.file, 'demo');
    ids.aviA = await ingest(client(keys.write), avi, 'camera');
    // Tenant B ingests the same bytes: the source object `videos/<sha256>` is shared, the media is not.
    ids.demoB = await ingest(client(keys.otherWrite), demo.file, 'demo of B');
  }, 240_000);
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  it('makes a thumbnail per segment and a poster at ingest, stored under the tenant, that decode as JPEGs', async () => {
    const found = await video(admin, ids.aviA!);
    expect(found.status).toBe('INDEXED');
    const segments = found.segments.edges.map((edge: Json) => edge.node);
    expect(segments).toHaveLength(2);
    for (const segment of segments) {
      const { response, body } = await bytes(segment.thumbnailUrl as string);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('image/jpeg');
      const info = await probe(body, 'thumb.jpg');
      expect(info.streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 160, height: 120 });
    }
    const poster = await bytes(found.posterUrl as string);
    expect(poster.response.headers.get('content-type')).toBe('image/jpeg');
    expect((await probe(poster.body, 'poster.jpg')).streams[0]).toMatchObject({ codec_name: 'mjpeg' });
    // Taken from ingest's own decode: no fallback pass, no media warning.
    const warnings = logger.records.filter((record) => /thumbnails|media not made/.test(record.message));
    expect(warnings).toEqual([]);
    expect(await mediaKeys(DEFAULT_TENANT_ID, ids.aviA!)).toEqual([
      `tenants/${DEFAULT_TENANT_ID}/media/${ids.aviA}/playback.mp4`,
      `tenants/${DEFAULT_TENANT_ID}/media/${ids.aviA}/poster.jpg`,
      `tenants/${DEFAULT_TENANT_ID}/media/${ids.aviA}/thumbs/0.jpg`,
      `tenants/${DEFAULT_TENANT_ID}/media/${ids.aviA}/thumbs/1.jpg`,
    ]);
  });

  it('plays an H.264 MP4 source as it is, and a segment URL carries its media fragment', async () => {
    const found = await video(admin, ids.demoA!);
    const [segment] = found.segments.edges.map((edge: Json) => edge.node);
    expect(segment.playbackUrl).toMatch(new RegExp(`/media/[^#]+#t=0,${segment.endMs / 1000}$`));
    // The same object as the video's (each URL is signed when read, so the tokens differ in expiry).
    expect(grantOf(segment.playbackUrl as string).k).toBe(grantOf(found.playbackUrl as string).k);
    const { response, body } = await bytes(found.playbackUrl as string);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    expect((await probe(body, 'demo.mp4')).streams[0]).toMatchObject({ codec_name: 'h264' });
    // No rendition was made for it: only previews under its media prefix.
    expect((await mediaKeys(DEFAULT_TENANT_ID, ids.demoA!)).some((key) => key.endsWith('playback.mp4'))).toBe(
      false,
    );
  });

  it('serves an MJPEG AVI as an H.264 MP4 rendition with the index first (fast start)', async () => {
    const found = await video(admin, ids.aviA!);
    const { response, body } = await bytes(found.playbackUrl as string);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const info = await probe(body, 'rendition.mp4');
    expect(info.format.format_name).toContain('mp4');
    expect(info.streams.find((stream: Json) => stream.codec_type === 'video')).toMatchObject({
      codec_name: 'h264',
      width: 160,
      height: 120,
    });
    expect(body.indexOf('moov')).toBeGreaterThan(0);
    expect(body.indexOf('moov')).toBeLessThan(body.indexOf('mdat'));
  });

  it('answers byte ranges: 206 with Content-Range, suffix and open-ended ranges, 416 past the end', async () => {
    const url = (await video(admin, ids.aviA!)).playbackUrl as string;
    const whole = await bytes(url);
    const size = whole.body.length;
    expect(whole.response.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(whole.response.headers.get('content-length')).toBe(String(size));

    const first = await bytes(url, { range: 'bytes=0-99' });
    expect(first.response.status).toBe(206);
    expect(first.response.headers.get('content-range')).toBe(`bytes 0-99/${size}`);
    expect(first.body).toEqual(whole.body.subarray(0, 100));

    const suffix = await bytes(url, { range: 'bytes=-50' });
    expect(suffix.response.status).toBe(206);
    expect(suffix.response.headers.get('content-range')).toBe(`bytes ${size - 50}-${size - 1}/${size}`);
    expect(suffix.body).toEqual(whole.body.subarray(size - 50));

    const open = await bytes(url, { range: 'bytes=100-' });
    expect(open.response.status).toBe(206);
    expect(open.body).toEqual(whole.body.subarray(100));

    const past = await bytes(url, { range: `bytes=${size}-` });
    expect(past.response.status).toBe(416);
    expect(past.response.headers.get('content-range')).toBe(`bytes */${size}`);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(size));
  });

  it('refuses an expired URL (410 MEDIA_URL_EXPIRED) without waiting: URLs signed by a clock in the past', async () => {
    const past = new MediaService({
      db: platform.kernel.db,
      storage: platform.kernel.storage,
      config: { mediaUrlTtlSeconds: TTL_SECONDS, publicUrl: undefined, uploadSecret: SECRET },
      now: () => Date.now() - (TTL_SECONDS + 5) * 1000,
    });
    const base = new URL(platform.gateway.url).origin;
    const stale = await past.forTenant(DEFAULT_TENANT_ID, base).video(ids.aviA!);
    const answer = await bytes(stale.posterUrl!);
    expect(answer.response.status).toBe(410);
    expect(JSON.parse(answer.body.toString()).errors[0].extensions.code).toBe('MEDIA_URL_EXPIRED');
    // The same clock, still inside the TTL, is accepted.
    const fresh = new MediaService({
      db: platform.kernel.db,
      storage: platform.kernel.storage,
      config: { mediaUrlTtlSeconds: TTL_SECONDS, publicUrl: undefined, uploadSecret: SECRET },
      now: () => Date.now() - (TTL_SECONDS - 30) * 1000,
    });
    const recent = await fresh.forTenant(DEFAULT_TENANT_ID, base).video(ids.aviA!);
    expect((await bytes(recent.posterUrl!)).response.status).toBe(200);
  });

  it("refuses tampered tokens and tokens that point one tenant's grant at another tenant's objects", async () => {
    const found = await video(admin, ids.aviA!);
    const url = new URL(found.posterUrl as string);
    const token = url.pathname.slice('/media/'.length);
    const [payload, signature] = token.split('.');
    const grant = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Json;
    // The payload changed to another key, signature kept: 403.
    const edited = Buffer.from(JSON.stringify({ ...grant, k: `${grant.k as string}x` })).toString(
      'base64url',
    );
    const tampered = await bytes(`${url.origin}/media/${edited}.${signature}`);
    expect(tampered.response.status).toBe(403);
    expect(JSON.parse(tampered.body.toString()).errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await bytes(`${url.origin}/media/${token}x`)).response.status).toBe(403);
    expect((await bytes(`${url.origin}/media/garbage`)).response.status).toBe(403);

    // Correctly signed, but tenant B's grant names tenant A's poster: B's video has no such object (403),
    // and A's video is not B's (404).
    const tokens = new MediaTokens(SECRET);
    const expiresAt = Date.now() + 60_000;
    const crossKey = tokens.sign({
      tenantId: otherTenant,
      videoId: ids.demoB!,
      key: grant.k as string,
      contentType: 'image/jpeg',
      expiresAt,
    });
    expect((await bytes(`${url.origin}/media/${crossKey}`)).response.status).toBe(403);
    const crossVideo = tokens.sign({
      tenantId: otherTenant,
      videoId: ids.aviA!,
      key: grant.k as string,
      contentType: 'image/jpeg',
      expiresAt,
    });
    expect((await bytes(`${url.origin}/media/${crossVideo}`)).response.status).toBe(404);
    // A token of another server (another secret) is refused.
    const foreign = new MediaTokens('another-secret-0123456789abcdef0123456789').sign({
      tenantId: DEFAULT_TENANT_ID,
      videoId: ids.aviA!,
      key: grant.k as string,
      contentType: 'image/jpeg',
      expiresAt,
    });
    expect((await bytes(`${url.origin}/media/${foreign}`)).response.status).toBe(403);
  });

  it('hands media fields to every role that reads, nothing without credentials or to another tenant', async () => {
    const reader = await video(client(keys.read), ids.aviA!);
    expect(reader.posterUrl).toEqual(expect.stringContaining('/media/'));
    expect(reader.segments.edges[0].node.thumbnailUrl).toEqual(expect.stringContaining('/media/'));
    expect((await bytes(reader.posterUrl as string)).response.status).toBe(200);

    const anonymous = await client().graphql('query ($id: ID!) { video(id: $id) { posterUrl } }', {
      id: ids.aviA,
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.data?.video ?? null).toBeNull();

    const other = client(keys.otherWrite);
    const foreign = await other.graphql('query ($id: ID!) { video(id: $id) { posterUrl } }', {
      id: ids.aviA,
    });
    expect(other.codes(foreign)).toEqual(['NOT_FOUND']);
    expect(JSON.stringify(foreign.body)).not.toContain('/media/');
    // B sees its own copy of the same bytes, with its own media.
    const own = await video(other, ids.demoB!);
    expect(own.posterUrl).toEqual(expect.stringContaining('/media/'));
    expect(own.posterUrl).not.toBe((await video(admin, ids.demoA!)).posterUrl);
  });

  it('gives search hits a thumbnail and a playback URL that starts at the hit', async () => {
    const answer = await client(keys.read).graphql(
      `query ($text: String!) { search(text: $text, first: 5) {
        edges { node { videoId segmentId startMs endMs thumbnailUrl playbackUrl } } } }`,
      { text: demo.caption },
    );
    expect(answer.body.errors).toBeUndefined();
    const hits = answer.body.data.search.edges.map((edge: Json) => edge.node) as Json[];
    expect(hits.length).toBeGreaterThan(0);
    for (const hit of hits) {
      expect(hit.thumbnailUrl).toEqual(expect.stringContaining('/media/'));
      expect(hit.playbackUrl).toMatch(new RegExp(`#t=${hit.startMs / 1000},${hit.endMs / 1000}$`));
      expect((await bytes(hit.thumbnailUrl as string)).response.status).toBe(200);
    }
    // Tenant B's search never returns A's videos or URLs for them.
    const other = await client(keys.otherWrite).graphql(
      `query ($text: String!) { search(text: $text, first: 10) { edges { node { videoId thumbnailUrl } } } }`,
      { text: demo.caption },
    );
    const otherHits = other.body.data.search.edges.map((edge: Json) => edge.node) as Json[];
    expect(otherHits.every((hit) => hit.videoId === ids.demoB)).toBe(true);
  });

  it("deleting tenant B's copy removes B's media only; A's media and the shared source keep serving", async () => {
    const before = await video(client(keys.otherWrite), ids.demoB!);
    const mine = await video(admin, ids.demoA!);
    const deleted = await client(keys.otherWrite).graphql(
      'mutation ($id: ID!) { deleteVideo(id: $id) { deleted } }',
      { id: ids.demoB },
    );
    expect(deleted.body.data.deleteVideo.deleted).toBe(true);
    expect(await mediaKeys(otherTenant, ids.demoB!)).toEqual([]);
    expect((await bytes(before.posterUrl as string)).response.status).toBe(404);
    expect((await bytes(before.playbackUrl as string)).response.status).toBe(404);
    expect((await bytes(mine.posterUrl as string)).response.status).toBe(200);
    expect((await bytes(mine.playbackUrl as string)).response.status).toBe(200);
    expect((await mediaKeys(DEFAULT_TENANT_ID, ids.demoA!)).length).toBeGreaterThan(0);
  });

  it('re-indexing makes the media again', async () => {
    const reindex = await admin.graphql('mutation ($id: ID!) { reindexVideo(id: $id) { id } }', {
      id: ids.aviA,
    });
    const job = await admin.finishedJob(reindex.body.data.reindexVideo.id as string, 120_000);
    expect(job.status).toBe('SUCCEEDED');
    const found = await video(admin, ids.aviA!);
    expect(found.segments.edges.map((edge: Json) => edge.node.thumbnailUrl)).toEqual([
      expect.stringContaining('/media/'),
      expect.stringContaining('/media/'),
    ]);
    expect((await bytes(found.playbackUrl as string)).response.status).toBe(200);
    const row = await systemView(platform.kernel.db).prisma.video.findFirst({ where: { id: ids.aviA! } });
    expect(row?.media).toMatchObject({ thumbnails: [0, 1], playback: { kind: 'rendition' } });
  });
});
