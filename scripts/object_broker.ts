// A broker (Bun) whose record data lives in object storage: objectLogStore over the S3 client, with the
// in-memory index (offsets live in this process: a benchmark and demo set-up, not a durable one). Starts a
// private versitygw unless --endpoint is given (then AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, --bucket).
// For the load generator:
//   bun scripts/object_broker.ts [--port 9092] [--flush-ms 250] [--flush-mib 8] [--cache-mib 256] &
//   bun scripts/bench/main.ts --target 127.0.0.1:9092 --pid <pid> --mode produce --acks -1
// On SIGINT/SIGTERM it prints the object requests it made (per GiB written and read) and exits.
import { bunRuntime } from "../adapters/bun.ts";
import { startBroker } from "../src/broker/broker.ts";
import { objectDataPath } from "../src/storage/objects/data_path.ts";
import { memoryObjectIndex } from "../src/storage/objects/index.ts";
import { objectLogStore } from "../src/storage/objects/log_store.ts";
import { S3ObjectStore } from "../src/storage/objects/s3.ts";
import { requestsPerGB } from "../src/storage/objects/store.ts";
import { startS3, type TestS3 } from "../tests/helpers/s3.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number | string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : String(dflt);
};
const MIB = 1 << 20;
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
  store = await server.client("chronik-broker");
}
const config = {
  s3: null as never,
  prefix: `broker-${Date.now()}`,
  flushMs: Number(opt("--flush-ms", 250)),
  flushBytes: Number(opt("--flush-mib", 8)) * MIB,
  cacheBytes: Number(opt("--cache-mib", 256)) * MIB,
  blockBytes: Number(opt("--block-kib", 1024)) * 1024,
};
const index = memoryObjectIndex();
const path = objectDataPath({ config, index, nodeId: 0, store });
const broker = await startBroker(bunRuntime, {
  host: "127.0.0.1",
  port: Number(opt("--port", 9092)),
  logLevel: "info",
}, { store: objectLogStore({ path, index, prefix: config.prefix }) });
console.log(`object store: ${store.description}, prefix ${config.prefix}, pid ${process.pid}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await broker.close();
  await path.close();
  const s = store.stats.snapshot();
  const zero = {
    requests: { put: 0, get: 0, head: 0, delete: 0, list: 0 },
    bytesOut: 0,
    bytesIn: 0,
    retries: 0,
    failures: 0,
  };
  const r = requestsPerGB(zero, s);
  const lat = path.writer.stats.flushLatencies;
  const sorted = [...lat].sort((a, b) => a - b);
  console.log(JSON.stringify({
    objects: path.writer.stats.objects,
    objectMiB: +(path.writer.stats.objectBytes / MIB).toFixed(1),
    requests: s.requests,
    putsPerGiB: +r.putsPerGB.toFixed(1),
    getsPerGiB: +r.getsPerGB.toFixed(1),
    retries: s.retries,
    flushP50: sorted[Math.floor(sorted.length / 2)] ?? null,
    flushP99: sorted[Math.floor(sorted.length * 0.99)] ?? null,
    cache: path.reader.stats,
  }));
  await server?.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
