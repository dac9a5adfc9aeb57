// Run by s3_runtimes_test.ts under Deno and (bundled) Node: the S3 client and the data path over the
// runtime's own fetch and Web Crypto. Prints "ok <n>" on success. Arguments: endpoint, access key, secret.
import { buildRecordBatch, scanBatches } from "../../../src/protocol/record_batch.ts";
import type { BatchInfo } from "../../../src/protocol/record_batch.ts";
import { memoryObjectIndex } from "../../../src/storage/objects/index.ts";
import { ObjectReader } from "../../../src/storage/objects/reader.ts";
import { S3ObjectStore } from "../../../src/storage/objects/s3.ts";
import { ObjectWriter } from "../../../src/storage/objects/writer.ts";

declare const Deno: { args: string[] } | undefined;
const [endpoint, accessKeyId, secretAccessKey, bucket] = typeof Deno !== "undefined"
  ? Deno.args
  : process.argv.slice(2);
const store = new S3ObjectStore({
  bucket,
  region: "us-east-1",
  endpoint,
  credentials: { accessKeyId, secretAccessKey },
  pathStyle: true,
});
const enc = new TextEncoder();
const key = "runtime/odd key+é&(1)";
await store.put(key, enc.encode("0123456789"));
const part = new TextDecoder().decode(await store.get(key, { offset: 3, length: 4 }));
if (part !== "3456") throw new Error(`range read gave ${part}`);
const listed = (await store.list("runtime/")).objects.map((o) => o.key);
if (listed.length !== 1 || listed[0] !== key) throw new Error(`list gave ${listed}`);
const index = memoryObjectIndex();
const writer = new ObjectWriter({ store, hook: index, prefix: "runtime", nodeId: 1, flushMs: 5 });
const buf = buildRecordBatch({ records: [{ key: null, value: "v1" }, { key: null, value: "v2" }] });
const ack = await writer.append("t", 0, buf, scanBatches(buf) as BatchInfo[]);
const read = await new ObjectReader({ store, index }).read("t", 0, 0, 1 << 20);
if (ack.lastOffset !== 1 || read.length !== 1 || read[0].length !== buf.length) throw new Error("data path mismatch");
const r = await store.deleteMany([key]);
if (r.errors.length > 0) throw new Error(JSON.stringify(r.errors));
console.log(`ok ${store.stats.requests.put + store.stats.requests.get}`);
