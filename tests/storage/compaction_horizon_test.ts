// Kafka's cleaner rules in every engine (src/storage/compaction.ts), on the file engine (memory FileSystem, a
// clock of the test's) and the PostgreSQL engine (a private server; a pass takes its `now`):
// - KIP-534: a tombstone stays delete.retention.ms after the pass that first kept it, whatever its timestamp; the
//   batch carries the horizon (attribute bit 6, base timestamp), record timestamps unchanged.
// - Transaction markers: kept while their transaction has data in the log, then given a horizon, then dropped
//   (never a producer's last batch); read_committed and read_uncommitted see the same records before and after,
//   minus what compaction may remove.
// - KIP-354: max.compaction.lag.ms cleans a partition whose dirty share stays under min.cleanable.dirty.ratio.
import { afterAll, describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { buildControlBatch, buildRecordBatch, decodeRecords, scanBatches } from "../../src/protocol/record_batch.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { postgresLogStore } from "../../src/storage/postgres/log.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import { openFileLogStore } from "../../src/storage/file.ts";
import { memoryFileSystem } from "../../src/runtime/memory.ts";
import type { PartitionLog } from "../../src/storage/store.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { postgresObjectIndex } from "../../src/storage/postgres/objects.ts";
import { objectDataPath } from "../../src/storage/objects/data_path.ts";
import { objectLogStore } from "../../src/storage/objects/log_store.ts";
import { memoryObjectStore } from "../../src/storage/objects/memory.ts";
import { smallPathConfig } from "../helpers/object_batches.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const HOUR = 3600000;
const quiet = () => {};

type Engine = {
  log: PartitionLog;
  /** One compaction round at `now` with these topic settings (cleanup.policy=compact added). */
  compact(now: number, cfg: Record<string, string>, force?: boolean): Promise<void>;
  close(): Promise<void>;
};

async function fileEngine(): Promise<Engine> {
  let clock = Date.now();
  let cfg: Record<string, string> = {};
  const store = await openFileLogStore(memoryFileSystem(), "/data", {
    now: () => clock,
    cleanerEnabled: false,
    retentionCheckIntervalMs: 1e9,
    // One batch per segment: the unit of the file engine's cleaning is a segment.
    topicConfig: (_t, n) =>
      ({ "segment.bytes": "1", "file.delete.delay.ms": "0", "cleanup.policy": "compact", ...cfg })[n] ?? "",
  });
  const log = await store.open("t", 0);
  return {
    log,
    async compact(now, c, force = false) {
      clock = now;
      cfg = c;
      await store.runCompaction(force);
    },
    close: () => store.close(),
  };
}

const pg = await startPostgres();
afterAll(() => pg.destroy());
let dbs = 0;
async function pgEngine(): Promise<Engine> {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase(`horizon${dbs++}`)));
  await ensureSchema(pool);
  const store = postgresLogStore(pool, true);
  const log = await store.open("t", 0);
  return {
    log,
    async compact(now, c, force = false) {
      await store.applyCompaction((_t, n) => ({ "cleanup.policy": "compact", ...c })[n], now, quiet, force);
    },
    close: () => store.close(),
  };
}

/** PostgreSQL as the index, record data in the in-memory object store; `said` collects the passes' log lines. */
async function objectsEngine(said: string[] = []): Promise<Engine> {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase(`horizon${dbs++}`)));
  await ensureSchema(pool);
  const index = postgresObjectIndex(pool);
  const config = smallPathConfig("k");
  const path = objectDataPath({ config, index, nodeId: 1, store: memoryObjectStore() });
  const store = objectLogStore({ path, index, prefix: "k", nodeId: 1 });
  const log = await store.open("t", 0);
  return {
    log,
    async compact(now, c, force = false) {
      await store.applyCompaction(
        (_t, n) => ({ "cleanup.policy": "compact", ...c })[n],
        now,
        (_l, m) => void said.push(m),
        () => true,
        force,
      );
    },
    close: async () => {
      await store.close();
      pool.close();
    },
  };
}

async function append(log: PartitionLog, batch: Uint8Array) {
  const metas = scanBatches(batch);
  if (!Array.isArray(metas)) throw new Error(metas.message);
  await log.append(batch, metas);
}
function put(log: PartitionLog, k: string, v: string | null, ts: number, txn?: bigint) {
  return append(
    log,
    buildRecordBatch({
      records: [{ key: enc.encode(k), value: v === null ? null : enc.encode(v), timestamp: ts }],
      ...(txn !== undefined ? { producerId: txn, producerEpoch: 0, baseSequence: 0, transactional: true } : {}),
    }),
  );
}
function marker(log: PartitionLog, pid: bigint, commit: boolean, ts: number) {
  return append(
    log,
    buildControlBatch({
      baseOffset: 0,
      producerId: pid,
      producerEpoch: 0,
      commit,
      coordinatorEpoch: 0,
      timestamp: ts,
      partitionLeaderEpoch: 0,
    }),
  );
}

async function batches(log: PartitionLog) {
  const out = [];
  for (let next = log.logStartOffset;;) {
    const bs = await log.read(next, 1 << 20);
    if (bs.length === 0) return out;
    for (const b of bs) {
      const d = decodeRecords(b);
      out.push(d);
      next = Number(d.baseOffset) + d.lastOffsetDelta + 1;
    }
  }
}

/** Every record as "offset:key=value", markers as "offset:commit|abort". */
async function dump(log: PartitionLog): Promise<string[]> {
  const out: string[] = [];
  for (const d of await batches(log)) {
    for (const r of d.records) {
      if (d.isControl) out.push(`${r.offset}:${r.key![3] === 1 ? "commit" : "abort"}`);
      else out.push(`${r.offset}:${dec.decode(r.key!)}=${r.value === null ? "null" : dec.decode(r.value)}`);
    }
  }
  return out;
}

/** The data records a consumer sees: read_uncommitted all of them, read_committed none of an aborted transaction. */
async function view(log: PartitionLog, committed: boolean): Promise<string[]> {
  const all = await batches(log);
  const out: string[] = [];
  all.forEach((d, i) => {
    if (d.isControl) return;
    if (committed && d.isTransactional) {
      const end = all.slice(i + 1).find((m) => m.isControl && m.producerId === d.producerId);
      if (end && end.records[0].key![3] === 0) return; // aborted
    }
    for (const r of d.records) {
      out.push(`${r.offset}:${dec.decode(r.key!)}=${r.value === null ? "null" : dec.decode(r.value)}`);
    }
  });
  return out;
}

for (const [name, make] of [["file", fileEngine], ["postgres", pgEngine], ["object store", objectsEngine]] as const) {
  describe(`${name} engine`, () => {
    test("KIP-534: a tombstone with an old timestamp stays delete.retention.ms after the first pass that kept it", async () => {
      const e = await make();
      const t0 = Date.now();
      await put(e.log, "a", "1", t0 - 20 * 86400000); // 0
      await put(e.log, "a", null, t0 - 10 * 86400000); // 1: a tombstone ten days old
      await put(e.log, "z", "1", t0); // 2
      await put(e.log, "end", "1", t0); // 3: the last batch (Kafka's active segment)
      const cfg = { "delete.retention.ms": String(HOUR) };
      const t1 = t0 + 2000;
      await e.compact(t1, cfg, true);
      expect(await dump(e.log)).toEqual(["1:a=null", "2:z=1", "3:end=1"]);
      const tomb = (await batches(e.log))[0];
      expect(tomb.hasDeleteHorizon).toBe(true);
      expect(Number(tomb.baseTimestamp)).toBe(t1 + HOUR);
      expect(Number(tomb.records[0].timestamp)).toBe(t0 - 10 * 86400000);
      await e.compact(t1 + HOUR / 2, cfg, true);
      expect(await dump(e.log)).toEqual(["1:a=null", "2:z=1", "3:end=1"]);
      // Past the horizon: gone, without `force` (a due horizon is reason enough for a pass).
      await e.compact(t1 + HOUR + 2000, cfg);
      expect(await dump(e.log)).toEqual(["2:z=1", "3:end=1"]);
      await e.close();
    });

    test("markers go once their transaction has no data left and their horizon has passed; both isolation levels see the same records", async () => {
      const e = await make();
      const t0 = Date.now();
      await put(e.log, "k", "aborted", t0, 5n); // 0
      await marker(e.log, 5n, false, t0); // 1
      await put(e.log, "k", "committed", t0, 6n); // 2
      await marker(e.log, 6n, true, t0); // 3
      await put(e.log, "k", "later", t0); // 4: shadows 2
      await put(e.log, "m", "1", t0, 5n); // 5
      await marker(e.log, 5n, true, t0); // 6: producer 5's last batch
      await put(e.log, "n", "1", t0, 6n); // 7
      await marker(e.log, 6n, true, t0); // 8: producer 6's last batch
      await put(e.log, "end", "1", t0); // 9
      expect(await view(e.log, false)).toEqual([
        "0:k=aborted",
        "2:k=committed",
        "4:k=later",
        "5:m=1",
        "7:n=1",
        "9:end=1",
      ]);
      expect(await view(e.log, true)).toEqual(["2:k=committed", "4:k=later", "5:m=1", "7:n=1", "9:end=1"]);
      const cfg = { "delete.retention.ms": String(HOUR) };
      const after = ["4:k=later", "5:m=1", "7:n=1", "9:end=1"];
      // Pass 1: the aborted data and the shadowed committed record go; their markers stay (the pass met their data).
      await e.compact(t0 + 2000, cfg, true);
      expect(await dump(e.log)).toEqual([
        "1:abort",
        "3:commit",
        ...after.slice(0, 2),
        "6:commit",
        "7:n=1",
        "8:commit",
        "9:end=1",
      ]);
      expect(await view(e.log, false)).toEqual(after);
      expect(await view(e.log, true)).toEqual(after);
      // Pass 2: markers 1 and 3 have no data left: they get a horizon, and stay until it passes.
      const t2 = t0 + 4000;
      await e.compact(t2, cfg, true);
      const marks = (await batches(e.log)).filter((d) => d.isControl);
      expect(marks.map((d) => [Number(d.baseOffset), d.hasDeleteHorizon])).toEqual([[1, true], [3, true], [6, false], [
        8,
        false,
      ]]);
      expect(Number(marks[0].baseTimestamp)).toBe(t2 + HOUR);
      await e.compact(t2 + HOUR - 1000, cfg, true);
      expect((await dump(e.log)).filter((x) => x.startsWith("1:") || x.startsWith("3:"))).toEqual([
        "1:abort",
        "3:commit",
      ]);
      // Past it (no force: the horizon makes the pass due) they go; the markers whose data stays remain.
      await e.compact(t2 + HOUR + 1000, cfg);
      expect(await dump(e.log)).toEqual(["4:k=later", "5:m=1", "6:commit", "7:n=1", "8:commit", "9:end=1"]);
      expect(await view(e.log, false)).toEqual(after);
      expect(await view(e.log, true)).toEqual(after);
      await e.close();
    });

    test("KIP-354: dirty records older than max.compaction.lag.ms are cleaned under min.cleanable.dirty.ratio", async () => {
      const e = await make();
      const t0 = Date.now();
      for (const k of ["a", "b", "c", "d", "e", "f"]) await put(e.log, k, "1", t0); // 0-5
      await put(e.log, "x", "end", t0); // 6
      const cfg = { "min.cleanable.dirty.ratio": "0.9", "max.compaction.lag.ms": "60000" };
      await e.compact(t0 + 1000, cfg, true); // cleans up to 6: what follows is dirty
      await put(e.log, "a", "2", t0); // 7
      await put(e.log, "y", "end", t0); // 8
      // Dirty: 6-7 of 0-7, under 0.9, and younger than max.compaction.lag.ms: nothing happens.
      await e.compact(t0 + 3000, cfg);
      expect((await dump(e.log))[0]).toBe("0:a=1");
      // Older than it: cleaned though the ratio is still under 0.9.
      await e.compact(t0 + 61000, cfg);
      expect((await dump(e.log))[0]).toBe("1:b=1");
      expect(await dump(e.log)).toContain("7:a=2");
      await e.close();
    });
  });
}

test("object store: a pass reads only the extents appended since the last one for transaction outcomes", async () => {
  const said: string[] = [];
  const e = await objectsEngine(said);
  const t0 = Date.now();
  const read = () => {
    const m = said.at(-1)?.match(/(\d+) extent\(s\) \((\d+) bytes\) read for transaction outcomes/);
    return m ? [Number(m[1]), Number(m[2])] : null;
  };
  for (let i = 0; i < 20; i++) await put(e.log, `k${i % 5}`, `v${i}`, t0, i % 4 === 0 ? 9n : undefined); // 20 extents
  await marker(e.log, 9n, true, t0); // 20
  await put(e.log, "end", "1", t0); // 21
  await e.compact(t0 + 1000, {}, true);
  const first = read()!;
  expect(first[0]).toBe(22); // every extent of the log
  await put(e.log, "k1", "new", t0); // 22
  await put(e.log, "end", "2", t0); // 23
  await e.compact(t0 + 2000, {}, true);
  const second = read()!;
  expect(second[0]).toBe(2); // only the two appended since
  expect(second[1]).toBeLessThan(first[1] / 5);
  // Another broker's pass (the cleaner state names a pass this broker did not make): everything is read again.
  await e.log.writeState("cleaner-offset", enc.encode("23 another-broker"));
  await put(e.log, "k2", "new", t0); // 24
  await e.compact(t0 + 3000, {}, true);
  expect(read()![0]).toBeGreaterThan(2); // (the log from its start: some extents were dropped or merged)
  await e.close();
});
