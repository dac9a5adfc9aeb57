// Leases and fencing in PostgreSQL (storage/postgres/cluster.ts, log.ts), with two "brokers" as two
// pools on one real database: a node id is held by one live incarnation at a time; leadership moves
// only by compare-and-set on the epoch; a stale leader's append is refused in the same statement
// that would have stored it (NotLeaderError), and nothing of it lands.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { PostgresCluster } from "../../src/storage/postgres/cluster.ts";
import { NotLeaderError, openPartitionRow, postgresLogStore } from "../../src/storage/postgres/log.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { appendValues, readAll } from "./contract.ts";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.destroy());

test("a node id has one live incarnation; a lapsed lease can be taken; leaving frees its partitions", async () => {
  const url = pg.createDatabase("lease");
  const a = new PgPool(bunRuntime, parsePostgresUrl(url));
  const b = new PgPool(bunRuntime, parsePostgresUrl(url));
  await ensureSchema(a);
  const ca = new PostgresCluster(a), cb = new PostgresCluster(b);
  const me = { nodeId: 1, rack: null, listeners: { PLAINTEXT: { host: "127.0.0.1", port: 1 } } };
  expect(await ca.register(me, 60_000)).toBe(true);
  expect(await ca.register(me, 60_000)).toBe(true); // the same incarnation again
  expect(await cb.register(me, 60_000)).toBe(false); // node id 1 is held
  expect((await cb.live()).map((x) => x.nodeId)).toEqual([1]);
  // A lease that lapsed (as after a SIGKILL) can be taken; the old incarnation's heartbeat then fails.
  expect(await ca.heartbeat(1, -1000)).toBe(true);
  expect(await cb.live()).toEqual([]);
  expect(await cb.register(me, 60_000)).toBe(true);
  expect(await ca.heartbeat(1, 60_000)).toBe(false);
  // Leaving: the lease ends at once (the row stays: the node id keeps its place) and led partitions are freed with a bumped epoch.
  const s = postgresLogStore(b);
  await s.open("t", 0);
  expect((await cb.move([{ topic: "t", partition: 0, fromEpoch: 0, to: 1 }]))[0]).toMatchObject({
    leader: 1,
    epoch: 1,
  });
  await cb.deregister(1);
  expect(await cb.live()).toEqual([]);
  expect(await cb.leaders()).toEqual([{ topic: "t", partition: 0, leader: -1, epoch: 2, ready: false }]);
  a.close();
  b.close();
});

test("leadership moves by compare-and-set; a stale leader's append is fenced and nothing of it lands", async () => {
  const url = pg.createDatabase("fence");
  const poolA = new PgPool(bunRuntime, parsePostgresUrl(url));
  const poolB = new PgPool(bunRuntime, parsePostgresUrl(url));
  await ensureSchema(poolA);
  const cluster = new PostgresCluster(poolA);
  const epochs = { a: new Map<string, number>(), b: new Map<string, number>() };
  const storeA = postgresLogStore(poolA), storeB = postgresLogStore(poolB);
  storeA.fencing = { nodeId: 1, epochOf: (t, p) => epochs.a.get(`${t}-${p}`) };
  storeB.fencing = { nodeId: 2, epochOf: (t, p) => epochs.b.get(`${t}-${p}`) };
  const logA = await storeA.open("t", 0);
  // Not leader at all: refused before anything is sent.
  await expect(appendValues(logA, ["x"])).rejects.toBeInstanceOf(NotLeaderError);
  // Node 1 takes epoch 1 and appends.
  const [r1] = await cluster.move([{ topic: "t", partition: 0, fromEpoch: 0, to: 1 }]);
  expect(r1).toMatchObject({ leader: 1, epoch: 1 });
  expect(await cluster.move([{ topic: "t", partition: 0, fromEpoch: 0, to: 2 }])).toEqual([]); // stale CAS
  epochs.a.set("t-0", 1);
  await appendValues(logA, ["a0", "a1"]);
  // Node 2 takes over at epoch 2 (node 1 has not noticed: it still believes it holds epoch 1).
  const [r2] = await cluster.move([{ topic: "t", partition: 0, fromEpoch: 1, to: 2 }]);
  expect(r2).toMatchObject({ leader: 2, epoch: 2 });
  const logB = await storeB.open("t", 0);
  await logB.refresh!(true);
  epochs.b.set("t-0", 2);
  const stale = await appendValues(logA, ["stale"]).catch((e) => e);
  expect(stale).toBeInstanceOf(NotLeaderError);
  expect(stale.message).toMatch(/node 1 epoch 1 is fenced \(leader 2, epoch 2\)/);
  expect(await appendValues(logB, ["b0"])).toMatchObject({ baseOffset: 2 });
  expect(await readAll(logB)).toEqual(["0:a0", "1:a1", "2:b0"]);
  expect(pg.psql("SELECT count(*) FROM chronik_batches", url.slice(url.lastIndexOf("/") + 1)).trim()).toBe("2");
  poolA.close();
  poolB.close();
});

test("producer id blocks are unique across brokers", async () => {
  const url = pg.createDatabase("pids");
  const a = new PgPool(bunRuntime, parsePostgresUrl(url));
  const b = new PgPool(bunRuntime, parsePostgresUrl(url));
  await ensureSchema(a);
  const blocks = await Promise.all([
    ...Array.from({ length: 5 }, () => new PostgresCluster(a).producerIdBlock()),
    ...Array.from({ length: 5 }, () => new PostgresCluster(b).producerIdBlock()),
  ]);
  expect(new Set(blocks).size).toBe(10);
  a.close();
  b.close();
});

test("two brokers opening the same new partitions at once both get their rows", async () => {
  const url = pg.createDatabase("openrace");
  const a = new PgPool(bunRuntime, parsePostgresUrl(url));
  const b = new PgPool(bunRuntime, parsePostgresUrl(url));
  await ensureSchema(a);
  // Each pair races: one INSERT waits for the other's and its statement's snapshot does not show that row.
  const rows = await Promise.all(
    Array.from({ length: 200 }, (_, p) => [openPartitionRow(a, "race", p), openPartitionRow(b, "race", p)]).flat(),
  );
  expect(rows.every((r) => r.length === 3 && r.every((v) => v === 0))).toBe(true);
  a.close();
  b.close();
});
