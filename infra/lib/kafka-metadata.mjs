#!/usr/bin/env node
// Asks a Kafka broker for its cluster metadata over the Kafka wire protocol, with no dependencies:
// an ApiVersions request to learn which Metadata versions the broker speaks, then a Metadata
// request (v4..v8, the non-flexible encodings). Prints one JSON line:
//   {"brokers":[{"nodeId":1,"host":"127.0.0.1","port":9092}],"clusterId":"…","controllerId":1,"topics":["…"]}
// Exit 0 when the broker answered with at least one registered broker, 1 otherwise (the reason on
// stderr). Used by infra/up.sh and infra/status.sh as the Kafka readiness check.
//
// usage: node infra/lib/kafka-metadata.mjs HOST:PORT [timeout-ms]
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { clearTimeout, setTimeout } from 'node:timers';

const [target, timeoutArg] = process.argv.slice(2);
if (!target || !/^[^:]+:\d+$/.test(target)) {
  process.stderr.write('usage: kafka-metadata.mjs HOST:PORT [timeout-ms]\n');
  process.exit(2);
}
const [host, portText] = target.split(':');
const timeoutMs = Number(timeoutArg ?? 3000);
const CLIENT_ID = 'hbi-infra-probe';

function request(apiKey, apiVersion, correlationId, body) {
  const clientId = Buffer.from(CLIENT_ID);
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const payload = Buffer.concat([header, clientId, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.at = 0;
  }
  i8() {
    return this.buf.readInt8((this.at += 1) - 1);
  }
  i16() {
    return this.buf.readInt16BE((this.at += 2) - 2);
  }
  i32() {
    return this.buf.readInt32BE((this.at += 4) - 4);
  }
  str() {
    const n = this.i16();
    if (n < 0) return null;
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  array(each) {
    const n = this.i32();
    const out = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
}

function parseMetadata(r, v) {
  r.i32(); // throttle_time_ms (v3+)
  const brokers = r.array((b) => {
    const nodeId = b.i32();
    const bhost = b.str();
    const port = b.i32();
    b.str(); // rack
    return { nodeId, host: bhost, port };
  });
  const clusterId = r.str();
  const controllerId = r.i32();
  const topics = r.array((t) => {
    const errorCode = t.i16();
    const name = t.str();
    t.i8(); // is_internal
    t.array((p) => {
      p.i16(); // error_code
      p.i32(); // partition_index
      p.i32(); // leader_id
      if (v >= 7) p.i32(); // leader_epoch
      p.array((x) => x.i32()); // replica_nodes
      p.array((x) => x.i32()); // isr_nodes
      if (v >= 5) p.array((x) => x.i32()); // offline_replicas
      return null;
    });
    if (v >= 8) t.i32(); // topic_authorized_operations
    return { name, errorCode };
  });
  return {
    brokers,
    clusterId,
    controllerId,
    topics: topics
      .filter((t) => t.errorCode === 0)
      .map((t) => t.name)
      .sort(),
  };
}

function fail(message) {
  process.stderr.write(`kafka-metadata: ${message}\n`);
  process.exit(1);
}

const socket = net.connect({ host, port: Number(portText) });
const timer = setTimeout(() => {
  socket.destroy();
  fail(`no answer from ${target} within ${timeoutMs} ms`);
}, timeoutMs);
let pending = Buffer.alloc(0);
let stage = 'versions';
let metadataVersion = 4;

socket.on('connect', () => socket.write(request(18, 0, 1, Buffer.alloc(0))));
socket.on('error', (e) => {
  clearTimeout(timer);
  fail(`cannot reach ${target}: ${e.code ?? e.message}`);
});
socket.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  if (pending.length < 4) return;
  const size = pending.readInt32BE(0);
  if (pending.length < 4 + size) return;
  const r = new Reader(pending.subarray(4, 4 + size));
  pending = pending.subarray(4 + size);
  r.i32(); // correlation id
  if (stage === 'versions') {
    const errorCode = r.i16();
    if (errorCode !== 0) fail(`ApiVersions answered error code ${errorCode}`);
    const apis = r.array((a) => ({ key: a.i16(), min: a.i16(), max: a.i16() }));
    const md = apis.find((a) => a.key === 3);
    if (!md) fail('broker does not list the Metadata API');
    metadataVersion = Math.min(8, md.max);
    if (metadataVersion < Math.max(4, md.min))
      fail(`no common Metadata version (broker speaks v${md.min}..v${md.max})`);
    const body = Buffer.alloc(metadataVersion >= 8 ? 7 : 5);
    body.writeInt32BE(-1, 0); // all topics
    body.writeInt8(0, 4); // allow_auto_topic_creation = false
    stage = 'metadata';
    socket.write(request(3, metadataVersion, 2, body));
    return;
  }
  clearTimeout(timer);
  socket.end();
  const md = parseMetadata(r, metadataVersion);
  if (md.brokers.length === 0) fail('broker answered but has no registered brokers yet');
  process.stdout.write(`${JSON.stringify(md)}\n`);
  process.exit(0);
});
