#!/usr/bin/env node
// S3 round trip against the object store in the infra env (HBI_S3_*), with the `minio` npm client
// the platform's adapter uses: put an object (a streamed, unsized body, so multipart-capable code
// paths run), stat it, read it back, list it, and leave it for the caller to check the Kafka event.
// The client is taken from the repo's node_modules, else from the folder named by HBI_MINIO_CLIENT_DIR.
//
// usage: node infra/lib/s3-smoke.mjs KEY          -> prints {"etag":…,"size":…} and exits 0
//        node infra/lib/s3-smoke.mjs --remove KEY
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
function loadMinio() {
  const roots = [path.resolve(here, '../../package.json')];
  if (process.env.HBI_MINIO_CLIENT_DIR)
    roots.unshift(path.join(process.env.HBI_MINIO_CLIENT_DIR, 'package.json'));
  for (const root of roots) {
    try {
      return createRequire(root)('minio');
    } catch {
      /* next */
    }
  }
  throw new Error('the `minio` npm package is not installed (npm ci, or set HBI_MINIO_CLIENT_DIR)');
}

const args = process.argv.slice(2);
const remove = args[0] === '--remove';
const key = remove ? args[1] : args[0];
if (!key) {
  console.error('usage: s3-smoke.mjs [--remove] KEY');
  process.exit(2);
}
const { Client } = loadMinio();
const url = new URL(process.env.HBI_S3_ENDPOINT);
const client = new Client({
  endPoint: url.hostname,
  port: Number(url.port),
  useSSL: url.protocol === 'https:',
  accessKey: process.env.HBI_S3_ACCESS_KEY,
  secretKey: process.env.HBI_S3_SECRET_KEY,
  region: process.env.HBI_S3_REGION,
  pathStyle: true,
});
const bucket = process.env.HBI_S3_BUCKET;

try {
  if (remove) {
    await client.removeObject(bucket, key);
    process.exit(0);
  }
  if (!(await client.bucketExists(bucket))) throw new Error(`bucket ${bucket} does not exist`);
  const body = `hbi infra smoke ${key} ${new Date().toISOString()}\n`.repeat(64);
  await client.putObject(bucket, key, Readable.from([Buffer.from(body)]), undefined, {
    'content-type': 'text/plain',
  });
  const stat = await client.statObject(bucket, key);
  const chunks = [];
  for await (const c of await client.getObject(bucket, key)) chunks.push(c);
  const back = Buffer.concat(chunks).toString();
  if (back !== body) throw new Error(`read back ${back.length} bytes, wrote ${body.length}`);
  const listed = [];
  for await (const o of client.listObjectsV2(bucket, key, true)) listed.push(o.name);
  if (!listed.includes(key)) throw new Error(`listing ${bucket}/${key} did not return the object`);
  console.log(JSON.stringify({ etag: stat.etag, size: stat.size }));
} catch (e) {
  console.error(`s3-smoke: ${e.code ?? ''} ${e.message}`);
  process.exit(1);
}
