// Share-partitions in a cluster (ShareCoordinator with a cluster view): served by the partition's leader
// only, loaded from __share_group_state at each leader epoch, and fenced by that epoch: three
// coordinators over one store stand for three brokers. A former leader that still believes it leads
// (paused past its lease) cannot store an acknowledgement once the new leader wrote the partition's
// state; a later leader loads the new leader's state, not the former's. The group's coordinator reads
// and alters the start offset as stored, and the partition's leader follows. A new leader claims the partition
// in __share_group_state when it takes it over: from then on the former leader neither hands out records nor
// stores acknowledgements (NOT_LEADER_OR_FOLLOWER), even before the new leader wrote anything; an
// acknowledgement the former leader stored between the new leader's load and its claim is loaded again. The
// same fencing between two brokers' own views of one PostgreSQL database (a private server, ~8 s).
import { expect, test } from "bun:test";
import type { Cluster } from "../../src/broker/cluster.ts";
import { ShareCoordinator } from "../../src/broker/share/coordinator.ts";
import { Topics } from "../../src/broker/topics.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { buildRecordBatch, scanBatches } from "../../src/protocol/record_batch.ts";
import type { BatchMeta } from "../../src/storage/store.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { memoryMetadataStore } from "../../src/storage/metadata.ts";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { postgresLogStore } from "../../src/storage/postgres/log.ts";
import { postgresMetadataStore } from "../../src/storage/postgres/metadata.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import { startPostgres } from "../helpers/postgres.ts";

const ACCEPT = 1;

/** A broker's view: it leads q-0 at `epoch` when `leads`; the partition's current epoch is `current`. */
function view(nodeId: number, s: { leads: boolean; epoch: number }): Cluster {
  return {
    nodeId,
    brokers: () => [],
    leader: () => ({ leader: s.leads ? nodeId : 0, epoch: s.epoch }),
    leads: () => s.leads,
    controllerId: () => 1,
    topicsChanged: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

test("a former leader's acknowledgement is refused once a new leader wrote the share state; replay keeps the new one's", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  const t = await topics.create("q", 1, new Map());
  const log = t.partitions[0];
  const batch = buildRecordBatch({ records: [0, 1, 2, 3].map(() => ({ key: null, value: new Uint8Array([1]) })) });
  await log.append(batch, scanBatches(batch) as BatchMeta[]);
  const config = { "group.share.record.lock.duration.ms": 60000 } as never;
  const coordinator = (c: Cluster) =>
    new ShareCoordinator({ config, topics, now: () => Date.now(), log: () => {}, cluster: c });
  const parts = [{ topicId: t.id, partition: 0 }];
  const acks = (first: number, last: number) => [{
    topicId: t.id,
    partitions: [{
      partitionIndex: 0,
      acknowledgementBatches: [{ firstOffset: BigInt(first), lastOffset: BigInt(last), acknowledgeTypes: [ACCEPT] }],
    }],
  }];
  const taken = (r: Awaited<ReturnType<ShareCoordinator["acquire"]>>) =>
    r[0].acquired.map((a) => `${a.firstOffset}-${a.lastOffset}x${a.deliveryCount}`);

  // Broker 1 leads q-0 at epoch 1; the group reads from the earliest offset.
  const one = { leads: true, epoch: 1 };
  const a = coordinator(view(1, one));
  await a.start();
  expect(await a.setConfigs("g", new Map([["share.auto.offset.reset", "earliest"]]))).toBe(true);
  // Broker 2 does not lead it: NOT_LEADER_OR_FOLLOWER.
  const two = { leads: false, epoch: 1 };
  const b = coordinator(view(2, two));
  await b.start();
  expect((await b.acquire("g", "m2", parts, 10, 1 << 20))[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);

  expect(taken(await a.acquire("g", "m1", parts, 10, 1 << 20))).toEqual(["0-3x1"]);
  // The partition moves to broker 2 at epoch 2 (broker 1, paused, still thinks it leads at 1).
  two.leads = true;
  two.epoch = 2;
  expect(taken(await b.acquire("g", "m2", parts, 10, 1 << 20))).toEqual(["0-3x1"]);
  expect((await b.acknowledge("g", "m2", acks(0, 1))).get(`${t.id}:0`)).toBe(ErrorCode.NONE);
  // Broker 1's acknowledgement of all four is not stored, and says so.
  expect((await a.acknowledge("g", "m1", acks(0, 3))).get(`${t.id}:0`)).not.toBe(ErrorCode.NONE);

  // Broker 3, leader at epoch 3, loads broker 2's state: 0-1 accepted, 2-3 available again.
  const c = coordinator(view(3, { leads: true, epoch: 3 }));
  await c.start();
  expect(taken(await c.acquire("g", "m3", parts, 10, 1 << 20))).toEqual(["2-3x2"]);

  // The group's coordinator (broker 2, no longer the leader) reads and moves the start offset as stored;
  // the leader (broker 3) drops what it holds and serves from the new start.
  expect(await b.startOffsets("g")).toEqual(new Map([[`${t.id}:0`, 2]]));
  expect(await b.alterOffsets("g", [{ topicId: t.id, partition: 0, startOffset: 3 }])).toBe(ErrorCode.NONE);
  expect(await b.startOffsets("g")).toEqual(new Map([[`${t.id}:0`, 3]]));
  let after: string[] = [];
  for (let i = 0; i < 50 && after.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = taken(await c.acquire("g", "m3", parts, 10, 1 << 20));
  }
  expect(after).toEqual(["3-3x1"]);
  for (const x of [a, b, c]) x.close();
});

/** One partition "q" holding `n` records, three brokers' views of it, and helpers. */
async function setup(n: number) {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  const t = await topics.create("q", 1, new Map());
  const log = t.partitions[0];
  const produce = async (count: number) => {
    const batch = buildRecordBatch({
      records: [...Array(count)].map(() => ({ key: null, value: new Uint8Array([1]) })),
    });
    await log.append(batch, scanBatches(batch) as BatchMeta[]);
  };
  await produce(n);
  const config = { "group.share.record.lock.duration.ms": 60000 } as never;
  const coordinator = (c: Cluster) =>
    new ShareCoordinator({ config, topics, now: () => Date.now(), log: () => {}, cluster: c });
  const parts = [{ topicId: t.id, partition: 0 }];
  const acks = (first: number, last: number) => [{
    topicId: t.id,
    partitions: [{
      partitionIndex: 0,
      acknowledgementBatches: [{ firstOffset: BigInt(first), lastOffset: BigInt(last), acknowledgeTypes: [ACCEPT] }],
    }],
  }];
  const taken = (r: Awaited<ReturnType<ShareCoordinator["acquire"]>>) =>
    r[0].acquired.map((a) => `${a.firstOffset}-${a.lastOffset}x${a.deliveryCount}`);
  return { t, produce, coordinator, parts, acks, taken };
}

test("a former leader stops handing out records and storing acknowledgements once the new leader took the partition over", async () => {
  const { t, produce, coordinator, parts, acks, taken } = await setup(4);
  const one = { leads: true, epoch: 1 };
  const a = coordinator(view(1, one));
  await a.start();
  expect(await a.setConfigs("g", new Map([["share.auto.offset.reset", "earliest"]]))).toBe(true);
  const two = { leads: false, epoch: 1 };
  const b = coordinator(view(2, two));
  await b.start();
  expect(taken(await a.acquire("g", "m1", parts, 2, 1 << 20))).toEqual(["0-1x1"]);

  // The partition moves to broker 2 at epoch 2; broker 1, paused past its lease, still believes it leads at 1.
  two.leads = true;
  two.epoch = 2;
  // Broker 2 takes it over (its first ShareFetch) and acquires; it has written no share state yet.
  expect(taken(await b.acquire("g", "m2", parts, 2, 1 << 20))).toEqual(["0-1x1"]);
  await produce(2);
  // Broker 1 no longer hands out records (2-5 stay broker 2's to give), nor stores an acknowledgement.
  const stale = await a.acquire("g", "m1", parts, 10, 1 << 20);
  expect(stale[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(stale[0].acquired).toEqual([]);
  expect((await a.acknowledge("g", "m1", acks(0, 1))).get(`${t.id}:0`)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect((await a.acquire("g", "m1", parts, 10, 1 << 20))[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  // Broker 2 serves on: the rest of the records, and its acknowledgements are stored.
  expect(taken(await b.acquire("g", "m2", parts, 10, 1 << 20))).toEqual(["2-5x1"]);
  expect((await b.acknowledge("g", "m2", acks(0, 5))).get(`${t.id}:0`)).toBe(ErrorCode.NONE);
  expect(await b.startOffsets("g")).toEqual(new Map([[`${t.id}:0`, 6]]));
  for (const x of [a, b]) x.close();
});

test("a new leader takes the share state over when it gains the partition, before any ShareFetch reaches it", async () => {
  const { t, coordinator, parts, acks, taken } = await setup(4);
  const one = { leads: true, epoch: 1 };
  const a = coordinator(view(1, one));
  await a.start();
  expect(await a.setConfigs("g", new Map([["share.auto.offset.reset", "earliest"]]))).toBe(true);
  expect(taken(await a.acquire("g", "m1", parts, 10, 1 << 20))).toEqual(["0-3x1"]);
  expect((await a.acknowledge("g", "m1", acks(0, 0))).get(`${t.id}:0`)).toBe(ErrorCode.NONE);
  const two = { leads: false, epoch: 1 };
  const b = coordinator(view(2, two));
  await b.start();
  // Broker 2 gains q-0 at epoch 2 (its cluster service took the partition over).
  two.leads = true;
  two.epoch = 2;
  await b.gained("q", 0);
  // Broker 1, still believing it leads, can no longer store an acknowledgement, though no client went to broker 2.
  expect((await a.acknowledge("g", "m1", acks(1, 1))).get(`${t.id}:0`)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(taken(await b.acquire("g", "m2", parts, 10, 1 << 20))).toEqual(["1-3x2"]);
  for (const x of [a, b]) x.close();
});

test("an acknowledgement the former leader stored between the new leader's load and its claim is loaded again", async () => {
  const { t, coordinator, parts, acks, taken } = await setup(4);
  const a = coordinator(view(1, { leads: true, epoch: 1 }));
  await a.start();
  expect(await a.setConfigs("g", new Map([["share.auto.offset.reset", "earliest"]]))).toBe(true);
  expect(taken(await a.acquire("g", "m1", parts, 10, 1 << 20))).toEqual(["0-3x1"]);
  const b = coordinator(view(2, { leads: true, epoch: 2 }));
  await b.start();
  // Broker 1 stores its acknowledgement of 0-1 right after broker 2 read the share state, before its claim.
  const state = (b as unknown as { state: { claim: (...args: unknown[]) => Promise<string> } }).state;
  const claim = state.claim.bind(state);
  let acked = -1;
  state.claim = async (...args: unknown[]) => {
    if (acked < 0) acked = (await a.acknowledge("g", "m1", acks(0, 1))).get(`${t.id}:0`)!;
    return await claim(...args);
  };
  // Broker 2 loads again: 0-1 accepted, 2-3 available (delivered once, as broker 1 stored them).
  expect(taken(await b.acquire("g", "m2", parts, 10, 1 << 20))).toEqual(["2-3x2"]);
  expect(acked).toBe(ErrorCode.NONE);
  // Anything broker 1 writes now is refused.
  expect((await a.acknowledge("g", "m1", acks(2, 3))).get(`${t.id}:0`)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  for (const x of [a, b]) x.close();
});

test(
  "on PostgreSQL: two brokers' own views of one database; the former leader is fenced by the new leader's claim",
  async () => {
    const pg = await startPostgres();
    const pools: PgPool[] = [];
    try {
      const url = pg.createDatabase("share_fence");
      /** One broker's storage: its own pool, log store and metadata on the shared database. */
      const broker = async () => {
        const pool = new PgPool(bunRuntime, parsePostgresUrl(url));
        pools.push(pool);
        await ensureSchema(pool);
        const topics = new Topics(postgresLogStore(pool), await postgresMetadataStore(pool));
        await topics.load();
        return topics;
      };
      const topicsA = await broker();
      const t = await topicsA.create("q", 1, new Map());
      const produce = async (count: number) => {
        const batch = buildRecordBatch({
          records: [...Array(count)].map(() => ({ key: null, value: new Uint8Array([1]) })),
        });
        await t.partitions[0].append(batch, scanBatches(batch) as BatchMeta[], { durable: true });
      };
      await produce(4);
      const config = { "group.share.record.lock.duration.ms": 60000 } as never;
      const parts = [{ topicId: t.id, partition: 0 }];
      const acks = [{
        topicId: t.id,
        partitions: [{
          partitionIndex: 0,
          acknowledgementBatches: [{ firstOffset: 0n, lastOffset: 1n, acknowledgeTypes: [ACCEPT] }],
        }],
      }];
      const taken = (r: Awaited<ReturnType<ShareCoordinator["acquire"]>>) =>
        r[0].acquired.map((a) => `${a.firstOffset}-${a.lastOffset}x${a.deliveryCount}`);

      const a = new ShareCoordinator({
        config,
        topics: topicsA,
        now: () => Date.now(),
        log: () => {},
        cluster: view(1, { leads: true, epoch: 1 }),
      });
      await a.start();
      expect(await a.setConfigs("g", new Map([["share.auto.offset.reset", "earliest"]]))).toBe(true);
      expect(taken(await a.acquire("g", "m1", parts, 2, 1 << 20))).toEqual(["0-1x1"]);

      // Broker 2 starts on the same database and comes to lead q-0 at epoch 2 (broker 1 still believes it leads).
      const topicsB = await broker();
      const b = new ShareCoordinator({
        config,
        topics: topicsB,
        now: () => Date.now(),
        log: () => {},
        cluster: view(2, { leads: true, epoch: 2 }),
      });
      await b.start();
      expect(taken(await b.acquire("g", "m2", parts, 2, 1 << 20))).toEqual(["0-1x1"]);
      await produce(2);
      const stale = await a.acquire("g", "m1", parts, 10, 1 << 20);
      expect(stale[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      expect(stale[0].acquired).toEqual([]);
      expect((await a.acknowledge("g", "m1", acks)).get(`${t.id}:0`)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      await topicsB.get("q")!.partitions[0].refresh?.(true); // as a takeover re-reads the log end
      expect(taken(await b.acquire("g", "m2", parts, 10, 1 << 20))).toEqual(["2-5x1"]);
      expect((await b.acknowledge("g", "m2", acks)).get(`${t.id}:0`)).toBe(ErrorCode.NONE);
      for (const x of [a, b]) x.close();
    } finally {
      for (const p of pools) p.close();
      pg.destroy();
    }
  },
  60_000,
);
