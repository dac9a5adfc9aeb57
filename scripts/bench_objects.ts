// Object data path benchmark against a real S3-compatible server (versitygw, started privately on loopback
// by tests/helpers/s3.ts; or --endpoint with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and --bucket).
//   bun scripts/bench_objects.ts [--mib 256] [--partitions 16] [--producers 32] [--flush-ms 250]
//                                [--flush-mib 8] [--block-kib 1024] [--cache-mib 256]
// write: 64 KiB batches (63 records of 1 KiB) appended by --producers concurrent producers, each waiting for
//        its ack before the next append (as acks=all with one request in flight), round-robin over partitions.
//        Reports MB/s, PUTs per GiB, objects, flush latency (cut → committed), the PUTs' own time and ack latency
//        p50/p99 (the index is in memory here: the commit a broker makes in PostgreSQL is not in these figures).
// read:  a cold reader (empty cache) reads every partition from offset 0 in 1 MiB fetches, partitions in
//        parallel: MB/s and GETs per GiB. Then the tail: the writer's own reader, fed by committed objects.
import { cpus, totalmem } from "node:os";
import { buildRecordBatch, scanBatches } from "../src/protocol/record_batch.ts";
import type { BatchInfo } from "../src/protocol/record_batch.ts";
import { objectDataPath } from "../src/storage/objects/data_path.ts";
import { memoryObjectIndex } from "../src/storage/objects/index.ts";
import { ObjectReader } from "../src/storage/objects/reader.ts";
import { S3ObjectStore } from "../src/storage/objects/s3.ts";
import { requestsPerGB } from "../src/storage/objects/store.ts";
import { startS3, type TestS3 } from "../tests/helpers/s3.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number | string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : String(dflt);
};
const MIB = 1 << 20;
const total = Number(opt("--mib", 256)) * MIB;
const partitions = Number(opt("--partitions", 16));
const producers = Number(opt("--producers", 32));
const flushMs = Number(opt("--flush-ms", 250));
const flushBytes = Number(opt("--flush-mib", 8)) * MIB;
const blockBytes = Number(opt("--block-kib", 1024)) * 1024;
const cacheBytes = Number(opt("--cache-mib", 256)) * MIB;
const endpoint = opt("--endpoint", "");

let server: TestS3 | null = null;
let store: S3ObjectStore;
if (endpoint) {
  store = new S3ObjectStore({
    bucket: opt("--bucket", "chronik-bench"),
    region: process.env.AWS_REGION ?? "us-east-1",
    endpoint,
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! },
    pathStyle: true,
  });
} else {
  server = await startS3();
  store = await server.client("chronik-bench");
}

const value = new Uint8Array(1024).fill(97);
function batch(): { buf: Uint8Array; metas: BatchInfo[] } {
  const buf = buildRecordBatch({ records: Array.from({ length: 63 }, (_, i) => ({ key: `key-${i}`, value })) });
  return { buf, metas: scanBatches(buf) as BatchInfo[] };
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f1 = (x: number) => x.toFixed(1);

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${
    (totalmem() / 2 ** 30).toFixed(0)
  } GiB; bun ${Bun.version}; ` +
    `server: ${endpoint || "versitygw (posix backend, local disk, loopback)"}`,
);
console.log(
  `settings: ${total / MIB} MiB, ${partitions} partitions, ${producers} producers, flush.ms=${flushMs}, ` +
    `flush.bytes=${flushBytes / MIB} MiB, block=${blockBytes / 1024} KiB, cache=${cacheBytes / MIB} MiB`,
);

// Each PUT's own time (request sent → answered), to tell it apart from the wait for the flush.
const putLatencies: number[] = [];
const put = store.put.bind(store);
store.put = async (...a: Parameters<typeof put>) => {
  const t = performance.now();
  try {
    return await put(...a);
  } finally {
    putLatencies.push(performance.now() - t);
  }
};

const index = memoryObjectIndex();
const config = { s3: null as never, prefix: `bench-${Date.now()}`, flushMs, flushBytes, cacheBytes, blockBytes };
const path = objectDataPath({ config, index, nodeId: 1, store });

// Write.
const template = batch();
const perBatch = template.buf.length;
const count = Math.ceil(total / perBatch);
let next = 0;
const ackLatencies: number[] = [];
const before = store.stats.snapshot();
const t0 = performance.now();
await Promise.all(Array.from({ length: producers }, async () => {
  while (next < count) {
    const i = next++;
    const b = { buf: template.buf.slice(), metas: template.metas };
    const start = performance.now();
    await path.writer.append("bench", i % partitions, b.buf, b.metas);
    ackLatencies.push(performance.now() - start);
  }
}));
const writeMs = performance.now() - t0;
const afterWrite = store.stats.snapshot();
const written = count * perBatch;
const w = requestsPerGB(before, afterWrite);
console.log(
  `write: ${f1(written / MIB / (writeMs / 1000))} MB/s; ${path.writer.stats.objects} objects of ` +
    `${f1(path.writer.stats.objectBytes / path.writer.stats.objects / MIB)} MiB avg; ${f1(w.putsPerGB)} PUTs/GiB; ` +
    `flush (cut→committed) p50 ${f1(pct(path.writer.stats.flushLatencies, 50))} ms p99 ${
      f1(pct(path.writer.stats.flushLatencies, 99))
    } ms; PUT p50 ${f1(pct(putLatencies, 50))} ms p99 ${f1(pct(putLatencies, 99))} ms; ack p50 ${
      f1(pct(ackLatencies, 50))
    } ms p99 ${f1(pct(ackLatencies, 99))} ms; retries ${afterWrite.retries}`,
);

// Cold read: every partition from the start, 1 MiB fetches, partitions in parallel.
async function readAll(reader: ObjectReader): Promise<number> {
  let bytes = 0;
  await Promise.all(Array.from({ length: partitions }, async (_, p) => {
    const { logEndOffset } = await index.offsets("bench", p);
    let offset = 0;
    while (offset < logEndOffset) {
      const got = await reader.read("bench", p, offset, MIB);
      for (const b of got) bytes += b.length;
      const last = got[got.length - 1];
      const v = new DataView(last.buffer, last.byteOffset);
      offset = Number(v.getBigInt64(0)) + v.getInt32(23) + 1;
    }
  }));
  return bytes;
}
const cold = new ObjectReader({ store, index, cacheBytes, blockBytes });
const r0 = store.stats.snapshot();
const t1 = performance.now();
const readBytes = await readAll(cold);
const readMs = performance.now() - t1;
const r1 = store.stats.snapshot();
const r = requestsPerGB(r0, r1);
console.log(
  `cold read: ${f1(readBytes / MIB / (readMs / 1000))} MB/s; ${r1.requests.get - r0.requests.get} GETs, ` +
    `${f1(r.getsPerGB)} GETs/GiB fetched from S3, ${
      f1((r1.requests.get - r0.requests.get) / (readBytes / 2 ** 30))
    } GETs per GiB served; ` +
    `cache hits ${cold.stats.hits}, shared ${cold.stats.shared}, misses ${cold.stats.misses}`,
);
const t2 = performance.now();
const tailBytes = await readAll(path.reader);
const tailMs = performance.now() - t2;
const r2 = store.stats.snapshot();
console.log(
  `tail read (writer's cache, ${cacheBytes / MIB} MiB): ${f1(tailBytes / MIB / (tailMs / 1000))} MB/s; ` +
    `${r2.requests.get - r1.requests.get} GETs (what fell out of the cache)`,
);
await path.close();
await server?.close();
