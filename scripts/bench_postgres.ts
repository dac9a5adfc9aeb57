// The PostgreSQL engine's append path (src/storage/postgres/log.ts) against a real PostgreSQL:
//   bun scripts/bench_postgres.ts [--url postgres://…] [--mib 256] [--partitions 8] [--inflight 4] [--pool 4] [--reads 1]
// 1 KiB records in 64 KiB batches (63 records), appended to --partitions partitions with --inflight appends
// in flight each; then every batch read back (--reads times). Reports MiB/s, PostgreSQL statements per MiB, the
// commit latency (append call to committed) p50/p99 and, for reads, this process's CPU (user+system) per MiB. Without --url it starts a private throwaway server
// (tests/helpers/postgres.ts: fsync off, so the numbers show the engine and the protocol, not the disk).
import { cpus, totalmem } from "node:os";
import { bunRuntime } from "../adapters/bun.ts";
import { buildRecordBatch, scanBatches } from "../src/protocol/record_batch.ts";
import type { BatchInfo } from "../src/protocol/record_batch.ts";
import { parsePostgresUrl, PgPool } from "../src/storage/postgres/client.ts";
import { postgresLogStore } from "../src/storage/postgres/log.ts";
import { ensureSchema } from "../src/storage/postgres/schema.ts";
import { startPostgres } from "../tests/helpers/postgres.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const mib = Number(opt("--mib", "256"));
const partitions = Number(opt("--partitions", "8"));
const inflight = Number(opt("--inflight", "4"));
const poolSize = Number(opt("--pool", "4"));
const reads = Number(opt("--reads", "1"));
let url = opt("--url", "");
const server = url ? null : await startPostgres();
if (server) url = server.createDatabase("bench");

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${
    (totalmem() / 2 ** 30).toFixed(0)
  } GiB RAM; bun ${Bun.version}; ${server ? "private PostgreSQL (fsync=off)" : url.replace(/:[^:@/]*@/, ":***@")}`,
);

const sep = url.includes("?") ? "&" : "?";
const pool = new PgPool(bunRuntime, parsePostgresUrl(`${url}${sep}pool=${poolSize}`));
await ensureSchema(pool);
const store = postgresLogStore(pool);
const value = new Uint8Array(1024).fill(97);
const template = buildRecordBatch({ records: Array.from({ length: 63 }, (_, i) => ({ key: `key-${i}`, value })) });
const batchBytes = template.length;
const total = Math.ceil((mib * 1048576) / batchBytes);
const logs = await Promise.all(Array.from({ length: partitions }, (_, p) => store.open(`bench-${Date.now()}`, p)));

const latencies: number[] = [];
let sent = 0;
const statementsBefore = pool.statements;
const started = performance.now();
await Promise.all(logs.map(async (log) => {
  const lanes = Array.from({ length: inflight }, async () => {
    while (sent < total) {
      sent++;
      const buf = template.slice();
      const metas = scanBatches(buf) as BatchInfo[];
      const t0 = performance.now();
      await log.append(buf, metas);
      latencies.push(performance.now() - t0);
    }
  });
  await Promise.all(lanes);
}));
const elapsed = performance.now() - started;
const writtenMiB = (sent * batchBytes) / 1048576;
const statements = pool.statements - statementsBefore;
latencies.sort((a, b) => a - b);
const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
console.log(
  `append: ${
    writtenMiB.toFixed(0)
  } MiB in ${sent} batches, ${partitions} partitions x ${inflight} in flight, pool ${poolSize}: ${
    (writtenMiB / (elapsed / 1000)).toFixed(0)
  } MiB/s, ${(statements / writtenMiB).toFixed(1)} statements/MiB, commit latency p50 ${pct(0.5)} ms p99 ${
    pct(0.99)
  } ms`,
);

for (let round = 0; round < reads; round++) {
  const readStarted = performance.now();
  const cpu0 = process.cpuUsage();
  let readBytes = 0;
  const readsBefore = pool.statements;
  for (const log of logs) {
    let next = 0;
    while (next < log.logEndOffset) {
      const batches = await log.read(next, 1 << 20);
      if (batches.length === 0) break;
      for (const b of batches) readBytes += b.length;
      next += batches.length * 63;
    }
  }
  const readMs = performance.now() - readStarted;
  const cpu = process.cpuUsage(cpu0);
  const readMiB = readBytes / 1048576;
  console.log(
    `read: ${readMiB.toFixed(0)} MiB at ${(readMiB / (readMs / 1000)).toFixed(0)} MiB/s, ${
      ((pool.statements - readsBefore) / readMiB).toFixed(1)
    } statements/MiB (1 MiB reads), CPU ${((cpu.user + cpu.system) / 1000 / readMiB).toFixed(2)} ms/MiB`,
  );
}
await store.close();
pool.close();
server?.destroy();
