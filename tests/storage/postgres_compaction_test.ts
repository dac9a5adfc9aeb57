// Log compaction on the PostgreSQL engine (src/storage/postgres/compaction.ts) against a real private
// server: the latest record per key stays at its offset, tombstones stay for delete.retention.ms,
// aborted transactional data goes, markers stay, nothing at or after an open transaction nor the last
// batch is cleaned; a pass stopped between its statements leaves a readable log with every key's
// latest value; a broker that does not hold the leader epoch changes nothing.
import { afterAll, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { buildControlBatch, buildRecordBatch, decodeRecords, scanBatches } from "../../src/protocol/record_batch.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { compactionConfig } from "../../src/storage/compaction.ts";
import { compactPartition } from "../../src/storage/postgres/compaction.ts";
import { postgresLogStore } from "../../src/storage/postgres/log.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import type { PartitionLog } from "../../src/storage/store.ts";
import { startPostgres } from "../helpers/postgres.ts";

const pg = await startPostgres();
afterAll(() => pg.destroy());
const enc = new TextEncoder();
const dec = new TextDecoder();

async function open(name: string) {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase(name)));
  await ensureSchema(pool);
  const store = postgresLogStore(pool, true);
  return { pool, store, log: await store.open("t", 0) };
}

type Rec = [string | null, string | null];
async function put(log: PartitionLog, recs: Rec[], opts: { ts?: number; txn?: bigint } = {}) {
  const batch = buildRecordBatch({
    records: recs.map(([k, v]) => ({
      key: k === null ? null : enc.encode(k),
      value: v === null ? null : enc.encode(v),
      timestamp: opts.ts ?? Date.now(),
    })),
    ...(opts.txn !== undefined ? { producerId: opts.txn, producerEpoch: 0, baseSequence: 0, transactional: true } : {}),
  });
  const metas = scanBatches(batch);
  if (!Array.isArray(metas)) throw new Error(metas.message);
  return await log.append(batch, metas);
}
async function marker(log: PartitionLog, pid: bigint, commit: boolean) {
  const batch = buildControlBatch({
    baseOffset: 0,
    producerId: pid,
    producerEpoch: 0,
    commit,
    coordinatorEpoch: 0,
    timestamp: Date.now(),
    partitionLeaderEpoch: 0,
  });
  const metas = scanBatches(batch);
  if (!Array.isArray(metas)) throw new Error(metas.message);
  return await log.append(batch, metas);
}

/** Every data record as "offset:key=value" (markers as "offset:marker"). */
async function dump(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  let next = log.logStartOffset;
  for (;;) {
    const batches = await log.read(next, 1 << 20);
    if (batches.length === 0) return out;
    for (const b of batches) {
      const d = decodeRecords(b);
      for (const r of d.records) {
        out.push(
          d.isControl
            ? `${r.offset}:marker`
            : `${r.offset}:${r.key === null ? "" : dec.decode(r.key)}=${
              r.value === null ? "null" : dec.decode(r.value)
            }`,
        );
      }
      next = Number(d.baseOffset) + d.lastOffsetDelta + 1;
    }
  }
}

const config = (extra: Record<string, string> = {}) => (_t: string, name: string) =>
  ({ "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.5", ...extra } as Record<string, string>)[name];
const quiet = () => {};

test("latest per key at its offset; tombstones kept delete.retention.ms after the first pass (KIP-534); aborted data gone; open txn and last batch untouched", async () => {
  const { pool, store, log } = await open("compact");
  const old = Date.now() - 10 * 86400000;
  await put(log, [["a", "1"], ["b", "1"]], { ts: old }); // 0-1
  await put(log, [["a", "2"], ["c", "1"]], { ts: old }); // 2-3
  await put(log, [["b", null]], { ts: old }); // 4: tombstone older than a day
  await put(log, [["c", null]]); // 5: recent tombstone
  await put(log, [["x", "aborted"]], { txn: 7n }); // 6
  await marker(log, 7n, false); // 7
  await put(log, [["a", "3"], ["d", "1"]]); // 8-9
  await put(log, [["d", "open"]], { txn: 8n }); // 10: transaction still open
  await put(log, [["a", "4"]]); // 11: after the open transaction
  await put(log, [["a", "5"]]); // 12: the last batch
  const sizeBefore = log.sizeInBytes;
  expect(await store.applyCompaction(config(), Date.now(), quiet)).toBe(1);
  // The tombstone b, older than delete.retention.ms by its timestamp, stays: its horizon starts now.
  expect(await dump(log)).toEqual([
    "4:b=null",
    "5:c=null",
    "7:marker",
    "8:a=3",
    "9:d=1",
    "10:d=open",
    "11:a=4",
    "12:a=5",
  ]);
  expect(log.sizeInBytes).toBeLessThan(sizeBefore);
  const row = await pool.query(
    "SELECT size_bytes, (SELECT sum(octet_length(data)) FROM chronik_batches) FROM chronik_partitions",
  );
  expect(Number(row.rows[0][0])).toBe(Number(row.rows[0][1]));
  expect(Number(row.rows[0][0])).toBe(log.sizeInBytes);
  // Nothing new to clean: the dirty ratio is 0 now.
  expect(await store.applyCompaction(config(), Date.now(), quiet)).toBe(0);
  // The transaction commits: what it held becomes cleanable (the last batch still stays).
  await marker(log, 8n, true); // 13
  await put(log, [["z", "head"]]); // 14
  expect(await store.applyCompaction(config({ "min.cleanable.dirty.ratio": "0.01" }), Date.now(), quiet)).toBe(1);
  expect(await dump(log)).toEqual([
    "4:b=null",
    "5:c=null",
    "7:marker",
    "10:d=open",
    "12:a=5",
    "13:marker",
    "14:z=head",
  ]);
  // min.compaction.lag.ms keeps young batches out; a later value of c shadows its tombstone.
  await put(log, [["c", "again"]]); // 15
  await put(log, [["end", "1"]]); // 16
  // (Only the tombstone b, rewritten by the first pass, is old enough; the pass changes nothing.)
  await store.applyCompaction(config({ "min.compaction.lag.ms": "3600000" }), Date.now(), quiet, true);
  expect((await dump(log)).slice(0, 2)).toEqual(["4:b=null", "5:c=null"]);
  await store.applyCompaction(config({ "delete.retention.ms": "0" }), Date.now(), quiet, true);
  expect(await dump(log)).toEqual([
    "4:b=null", // its horizon, set by the first pass, is a day away (a later delete.retention.ms does not move it)
    "7:marker",
    "10:d=open",
    "12:a=5",
    "13:marker",
    "14:z=head",
    "15:c=again",
    "16:end=1",
  ]);
  // Past the horizon the tombstone goes; marker 7, whose transaction has no data left, is producer 7's last
  // batch: it stays (Kafka keeps it as an empty batch) so that producer state rebuilt from the log knows it.
  await store.applyCompaction(config(), Date.now() + 2 * 86400000, quiet, true);
  expect(await dump(log)).toEqual([
    "7:marker",
    "10:d=open",
    "12:a=5",
    "13:marker",
    "14:z=head",
    "15:c=again",
    "16:end=1",
  ]);
  await store.close();
});

test("a pass stopped between statements leaves a readable log with every key's latest value; the next one finishes", async () => {
  const { pool, store, log } = await open("crash");
  // 1200 one-record batches over 10 keys: about 1190 rows to drop, three statements' worth.
  for (let i = 0; i < 1200; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => put(log, [[`k${(i + j) % 10}`, `v${i + j}`]])));
  }
  let applied = 0;
  const failing = {
    query: (sql: string, ...rest: unknown[]) => {
      if (sql.includes("unnest($5::int8[]") && ++applied === 2) {
        return Promise.reject(new Error("connection lost (injected)"));
      }
      return (pool.query as (...a: unknown[]) => ReturnType<PgPool["query"]>)(sql, ...rest);
    },
  } as unknown as PgPool;
  const target = (p: PgPool) => ({
    topic: "t",
    partition: 0,
    logStartOffset: log.logStartOffset,
    logEndOffset: log.logEndOffset,
    pool: p,
    lane: 0,
    fence: { leader: -1, epoch: 0 },
    read: (o: number, n: number) => log.read(o, n),
    readState: (n: string) => log.readState(n),
    writeState: (n: string, d: Uint8Array) => log.writeState(n, d),
    sized: () => {},
  });
  const cfg = compactionConfig(config(), "t")!;
  let error: unknown = null;
  await compactPartition(target(failing), cfg, Date.now(), true, quiet).catch((e) => error = e);
  expect(String(error)).toContain("injected");
  const after = await dump(log);
  expect(after.length).toBeLessThan(1200);
  expect(after.length).toBeGreaterThan(10);
  // Offsets strictly increasing, and each key's latest value (offsets 1190-1199) still there.
  const offsets = after.map((s) => Number(s.split(":")[0]));
  expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  for (let i = 1190; i < 1200; i++) expect(after).toContain(`${i}:k${i % 10}=v${i}`);
  // Size kept in step with what was applied.
  const row = await pool.query(
    "SELECT size_bytes, (SELECT sum(octet_length(data)) FROM chronik_batches) FROM chronik_partitions",
  );
  expect(Number(row.rows[0][0])).toBe(Number(row.rows[0][1]));
  // A broker that does not hold the leader epoch changes nothing.
  await pool.query("UPDATE chronik_partitions SET leader = 2, leader_epoch = 5");
  error = null;
  await compactPartition({ ...target(pool), fence: { leader: 1, epoch: 4 } }, cfg, Date.now(), true, quiet).catch((e) =>
    error = e
  );
  expect(String(error)).toContain("no longer leads");
  expect(await dump(log)).toEqual(after);
  // The rightful leader finishes: the last batch and every key's latest record remain.
  const done = await compactPartition(
    { ...target(pool), fence: { leader: 2, epoch: 5 } },
    cfg,
    Date.now(),
    true,
    quiet,
  );
  expect(done).not.toBeNull();
  // k9's record in the last batch (1199) shadows nothing: that batch is not cleaned (Kafka's active segment).
  expect(await dump(log)).toEqual([
    "1189:k9=v1189",
    ...Array.from({ length: 10 }, (_, j) => `${1190 + j}:k${j}=v${1190 + j}`),
  ]);
  await store.close();
});

test("the last batch of each producer id stays whole, so producer state rebuilt from the log keeps its sequence", async () => {
  const { store, log } = await open("producers");
  const idem = async (pid: bigint, seq: number, recs: Rec[]) => {
    const batch = buildRecordBatch({
      records: recs.map(([k, v]) => ({ key: enc.encode(k!), value: v === null ? null : enc.encode(v) })),
      producerId: pid,
      producerEpoch: 0,
      baseSequence: seq,
    });
    const metas = scanBatches(batch);
    if (!Array.isArray(metas)) throw new Error(metas.message);
    await log.append(batch, metas);
  };
  await idem(9n, 0, [["k", "1"]]); // 0: shadowed, not the producer's last: dropped
  await idem(9n, 1, [["k", "2"]]); // 1: shadowed, but producer 9's last batch: kept whole
  await put(log, [["k", "3"]]); // 2
  await put(log, [["end", "1"]]); // 3
  await store.applyCompaction(config(), Date.now(), quiet, true);
  expect(await dump(log)).toEqual(["1:k=2", "2:k=3", "3:end=1"]);
  await store.close();
});

test("readers during a pass always find every key's latest value, offsets increasing", async () => {
  const { store, log } = await open("readers");
  for (let i = 0; i < 1500; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => put(log, [[`k${(i + j) % 25}`, `v${i + j}`]])));
  }
  const latest = new Map<string, string>();
  for (let i = 0; i < 1500; i++) latest.set(`k${i % 25}`, `v${i}`);
  let done = false;
  const pass = store.applyCompaction(config(), Date.now(), quiet, true).finally(() => done = true);
  let reads = 0;
  do {
    const seen = new Map<string, string>();
    let last = -1;
    for (const s of await dump(log)) {
      const [offset, kv] = s.split(":");
      expect(Number(offset)).toBeGreaterThan(last);
      last = Number(offset);
      const [k, v] = kv.split("=");
      seen.set(k, v);
    }
    expect(seen).toEqual(latest);
    reads++;
  } while (!done);
  expect(await pass).toBe(1);
  expect(reads).toBeGreaterThan(0);
  expect((await dump(log)).length).toBeLessThan(60);
  await store.close();
});

test("batches kept out only by min.compaction.lag.ms are cleaned once old enough, with nothing appended meanwhile", async () => {
  const { store, log } = await open("compactlag");
  const t0 = Date.now();
  await put(log, [["a", "1"]], { ts: t0 }); // 0
  await put(log, [["a", "2"]], { ts: t0 }); // 1
  await put(log, [["end", "1"]], { ts: t0 }); // 2: the last batch
  const lag = config({ "min.compaction.lag.ms": "60000" });
  expect(await store.applyCompaction(lag, t0, quiet)).toBe(0);
  expect(await dump(log)).toEqual(["0:a=1", "1:a=2", "2:end=1"]);
  // A minute later, no append since: the batches are old enough now and a pass cleans them.
  expect(await store.applyCompaction(lag, t0 + 120000, quiet)).toBe(1);
  expect(await dump(log)).toEqual(["1:a=2", "2:end=1"]);
  // Then nothing is left to clean.
  expect(await store.applyCompaction(lag, t0 + 180000, quiet)).toBe(0);
  await store.close();
});
