// Storage benchmarks for the file engine over the real file system (adapters/node_fs.ts).
//   bun scripts/bench_storage.ts [append] [restart] [--dir /path] [--gib 1] [--partitions 100]
// append:  1 KiB records in 64 KiB batches, appended to 8 partitions with 4 appends in flight each,
//          without fsync, and with durable (group-commit fsync) appends as acks=all gets them.
// restart: writes --gib GiB into --partitions partitions, closes cleanly, then times opening the
//          store and every partition (clean start), and again after marking the stop unclean (the
//          active segment of every partition is scanned and CRC-checked).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { bunRuntime } from "../adapters/bun.ts";
import { prepareCompression } from "../src/protocol/compression/index.ts";
import { buildRecordBatch, scanBatches } from "../src/protocol/record_batch.ts";
import type { BatchInfo } from "../src/protocol/record_batch.ts";
import { openFileLogStore, STATE_FILE } from "../src/storage/file.ts";
import type { PartitionLog } from "../src/storage/store.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const which = args.filter((a) => a === "append" || a === "restart");
const run = (w: "append" | "restart") => which.length === 0 || which.includes(w);
const base = opt("--dir", "");
const root = base || mkdtempSync(`${tmpdir()}/chronik-bench-`);
await prepareCompression();

function makeBatch(): { buf: Uint8Array; metas: BatchInfo[] } {
  const value = new Uint8Array(1024).fill(97);
  const records = Array.from({ length: 63 }, (_, i) => ({ key: `key-${i}`, value }));
  const buf = buildRecordBatch({ records });
  const metas = scanBatches(buf) as BatchInfo[];
  return { buf, metas };
}

const mb = (bytes: number, ms: number) => (bytes / 1048576 / (ms / 1000)).toFixed(0);

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; runtime ${
    typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`
  }; dir ${root}`,
);

if (run("append")) {
  const PARTS = 8;
  const LANES = 4;
  const TOTAL = 2 * 1024 * 1024 * 1024 / 64 / 1024; // 2 GiB worth of 64 KiB batches
  for (const durable of [false, true]) {
    const dir = `${root}/append-${durable ? "fsync" : "nofsync"}`;
    const store = await openFileLogStore(bunRuntime.fs, dir, {});
    const logs: PartitionLog[] = [];
    for (let p = 0; p < PARTS; p++) logs.push(await store.open("bench", p));
    const n = durable ? TOTAL / 4 : TOTAL;
    let issued = 0;
    let bytes = 0;
    const lat: number[] = [];
    const t0 = performance.now();
    await Promise.all(Array.from({ length: PARTS * LANES }, async (_, i) => {
      const log = logs[i % PARTS];
      const { buf, metas } = makeBatch(); // one buffer per lane: the engine keeps it until written
      while (issued < n) {
        issued++;
        const s = performance.now();
        await log.append(buf, metas, { durable });
        lat.push(performance.now() - s);
        bytes += buf.length;
      }
    }));
    const ms = performance.now() - t0;
    lat.sort((a, b) => a - b);
    const p = (q: number) => lat[Math.floor(lat.length * q)].toFixed(1);
    console.log(
      `append ${durable ? "durable (group-commit fsync)" : "no fsync                   "}: ${n} x ${
        (makeBatch().buf.length / 1024).toFixed(1)
      } KiB batches in ${ms.toFixed(0)} ms = ${mb(bytes, ms)} MiB/s, ${(n / (ms / 1000)).toFixed(0)} batches/s, ${
        (n * 63 / (ms / 1000) / 1000).toFixed(0)
      }k records/s; latency p50 ${p(0.5)} ms p99 ${p(0.99)} ms` +
        (durable
          ? `; ${store.commit.rounds} fsync rounds, ${(n / store.commit.rounds).toFixed(1)} appends per round`
          : ""),
    );
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (run("restart")) {
  const gib = Number(opt("--gib", "1"));
  const parts = Number(opt("--partitions", "100"));
  const dir = `${root}/restart`;
  let store = await openFileLogStore(bunRuntime.fs, dir, {});
  const { buf, metas } = makeBatch();
  const perPart = Math.ceil(gib * 2 ** 30 / parts / buf.length);
  const t0 = performance.now();
  for (let p = 0; p < parts; p++) {
    const log = await store.open("restart", p);
    const ps = [];
    for (let i = 0; i < perPart; i++) {
      ps.push(log.append(buf.slice(), metas));
      if (ps.length >= 16) await Promise.all(ps.splice(0));
    }
    await Promise.all(ps);
  }
  await store.close();
  const written = perPart * parts * buf.length;
  console.log(
    `restart: wrote ${(written / 2 ** 30).toFixed(2)} GiB in ${parts} partitions in ${
      (performance.now() - t0).toFixed(0)
    } ms`,
  );
  for (const kind of ["clean", "unclean"] as const) {
    if (kind === "unclean") writeFileSync(`${dir}/${STATE_FILE}`, JSON.stringify({ clean: false }));
    const s = performance.now();
    store = await openFileLogStore(bunRuntime.fs, dir, {});
    const logs = await Promise.all(Array.from({ length: parts }, (_, p) => store.open("restart", p)));
    const ms = performance.now() - s;
    const end = logs.reduce((a, l) => a + l.logEndOffset, 0);
    console.log(
      `restart ${kind}: ${
        ms.toFixed(0)
      } ms to open ${parts} partitions (${end} records; ${store.stats.recoveredPartitions} scanned, ${store.stats.truncations} truncated)`,
    );
    await store.close();
  }
}

if (!base) rmSync(root, { recursive: true, force: true });
