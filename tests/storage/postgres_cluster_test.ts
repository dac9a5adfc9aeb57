// Leases and fencing in PostgreSQL (storage/postgres/cluster.ts, log.ts), with two "brokers" as two
// pools on one real database: a node id is held by one live incarnation at a time; leadership moves
// only by compare-and-set on the epoch; a stale leader's append is refused in the same statement
// that would have stored it (NotLeaderError), and nothing of it lands. A moved partition is ready only once its
// leader marks it (and the column is added to an older database with everything ready); ElectLeaders requests are
// kept (the last 64), so a broker applies every one it has not seen.
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

test("ready marks: a move is not ready until its leader marks it; a database laid out before gets every partition ready", async () => {
  const url = pg.createDatabase("ready");
  const pool = new PgPool(bunRuntime, parsePostgresUrl(url));
  await ensureSchema(pool);
  const c = new PostgresCluster(pool);
  const s = postgresLogStore(pool);
  await s.open("r", 0);
  await s.open("r", 1);
  const moved = await c.move([{ topic: "r", partition: 0, fromEpoch: 0, to: 1 }]);
  expect(moved).toEqual([{ topic: "r", partition: 0, leader: 1, epoch: 1, ready: false }]);
  await c.markReady(2, [{ topic: "r", partition: 0, epoch: 1 }]); // not the leader: no mark
  await c.markReady(1, [{ topic: "r", partition: 0, epoch: 0 }]); // not its epoch: no mark
  expect((await c.leaders()).find((r) => r.partition === 0)!.ready).toBe(false);
  await c.markReady(1, [{ topic: "r", partition: 0, epoch: 1 }]);
  expect((await c.leaders()).find((r) => r.partition === 0)!.ready).toBe(true);
  // The layout before the column: starting on it adds the column with every partition ready at its epoch.
  await pool.simple("ALTER TABLE chronik_partitions DROP COLUMN ready_epoch");
  await c.move([{ topic: "r", partition: 1, fromEpoch: 0, to: 1 }]);
  await ensureSchema(pool);
  expect((await c.leaders()).map((r) => [r.partition, r.epoch, r.ready]).sort()).toEqual([[0, 1, true], [1, 1, true]]);
  pool.close();
});

test("ElectLeaders requests: each gets the next number and the last ones are kept, so none is lost between beats", async () => {
  const url = pg.createDatabase("elections");
  const pool = new PgPool(bunRuntime, parsePostgresUrl(url));
  await ensureSchema(pool);
  const c = new PostgresCluster(pool);
  expect(await c.election()).toEqual({ n: 0, requests: [] });
  expect(await c.requestElection([{ topic: "a", partition: 0 }])).toBe(1);
  expect(await c.requestElection([{ topic: "b", partition: 1 }])).toBe(2);
  expect(await c.requestElection(null)).toBe(3);
  expect(await c.election()).toEqual({
    n: 3,
    requests: [{ n: 1, partitions: [["a", 0]] }, { n: 2, partitions: [["b", 1]] }, { n: 3, partitions: null }],
  });
  // The latest request's partitions also where brokers of the previous version read them.
  const raw = await pool.query("SELECT value FROM chronik_meta WHERE key = 'leader.election'");
  expect(JSON.parse(raw.rows[0][0] as string).partitions).toBeNull();
  for (let i = 0; i < 70; i++) await c.requestElection([{ topic: "c", partition: i }]);
  const last = await c.election();
  expect(last.n).toBe(73);
  expect(last.requests.map((q) => q.n)).toEqual(Array.from({ length: 64 }, (_, i) => 10 + i));
  pool.close();
});
