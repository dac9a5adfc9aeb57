// Coordinators in a cluster (`spread`): a broker serves only the groups and transactional ids of the
// internal partitions it loaded. Before load: NOT_COORDINATOR; while loading: COORDINATOR_LOAD_IN_PROGRESS;
// after load: the state written by the previous coordinator (another instance over the same logs); after
// unload: NOT_COORDINATOR again and the groups are gone from this broker. Offsets staged for a
// transaction coordinated elsewhere survive a coordinator move (a transactional batch in
// __consumer_offsets) and the marker settles them. keyPartition is Java's String.hashCode with the sign
// bit masked, modulo the count.
import { expect, test } from "bun:test";
import { keyPartition } from "../../src/broker/cluster.ts";
import { GroupCoordinator, OFFSETS_TOPIC } from "../../src/broker/groups/coordinator.ts";
import { Topics } from "../../src/broker/topics.ts";
import { producerStateOf, TransactionCoordinator, TXN_TOPIC } from "../../src/broker/txn/coordinator.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { memoryMetadataStore } from "../../src/storage/metadata.ts";

const quiet = () => {};

test("keyPartition: Java's String.hashCode, non-negative, modulo the count", () => {
  // "hello".hashCode() == 99162322; "polygenelubricants".hashCode() == Integer.MIN_VALUE.
  expect(keyPartition("hello", 50)).toBe(99162322 % 50);
  expect(keyPartition("polygenelubricants", 7)).toBe(0);
  expect(keyPartition("", 3)).toBe(0);
  for (let i = 0; i < 100; i++) {
    const p = keyPartition(`g-${i}`, 12);
    expect(p >= 0 && p < 12).toBe(true);
  }
});

test("groups: served only once their __consumer_offsets partition is loaded; unloaded, refused", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  await topics.ensureInternal(OFFSETS_TOPIC, 4);
  const config = {} as never;
  // Another broker coordinated the group first and committed an offset.
  const before = new GroupCoordinator({ config, topics, now: () => Date.now(), log: quiet, spread: true });
  const group = "orders";
  const p = keyPartition(group, 4);
  expect(before.coordinatorError(group)).toBe(ErrorCode.NOT_COORDINATOR);
  expect(before.fetchOffsets(group, null, null).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  expect(await before.load(p)).toBe(true);
  expect(before.coordinatorError(group)).toBe(ErrorCode.NONE);
  // A group of another partition is still someone else's.
  const elsewhere = Array.from({ length: 50 }, (_, i) => `g${i}`).find((g) => keyPartition(g, 4) !== p)!;
  expect(before.coordinatorError(elsewhere)).toBe(ErrorCode.NOT_COORDINATOR);
  await topics.create("t", 1, new Map());
  const committed = await before.commitOffsets({
    groupId: group,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{
      name: "t",
      partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: "" }],
    }],
  });
  expect(committed[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
  before.unload(p);
  expect(before.coordinatorError(group)).toBe(ErrorCode.NOT_COORDINATOR);
  expect(before.groups.has(group)).toBe(false);
  before.close();

  // The next coordinator: loading (refused as in progress), then serving what was committed.
  const next = new GroupCoordinator({ config, topics, now: () => Date.now(), log: quiet, spread: true });
  const loading = next.load(p);
  expect(next.coordinatorError(group)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  expect(next.fetchOffsets(group, null, null).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  expect(await loading).toBe(true);
  const fetched = next.fetchOffsets(group, [{ name: "t", partitionIndexes: [0] }], null);
  expect(fetched.errorCode).toBe(ErrorCode.NONE);
  expect(fetched.topics[0].partitions[0].committedOffset).toBe(7n);
  // Unloaded while loading: nothing is kept.
  next.unload(p);
  const again = next.load(p);
  next.unload(p);
  await again;
  expect(next.coordinatorError(group)).toBe(ErrorCode.NOT_COORDINATOR);
  expect(next.groups.size).toBe(0);
  next.close();
});

test("transactions: served only once their __transaction_state partition is loaded; the next coordinator finds them", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  await topics.ensureInternal(TXN_TOPIC, 3);
  const deps = {
    topics,
    now: () => Date.now(),
    log: quiet,
    maxTimeoutMs: 60_000,
    checkIntervalMs: 60_000,
    spread: true,
  };
  const first = new TransactionCoordinator(deps);
  const id = "payments";
  const p = keyPartition(id, 3);
  expect((await first.initProducerId(id, 10_000, -1n, -1)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  await first.load(p);
  const init = await first.initProducerId(id, 10_000, -1n, -1);
  expect(init.errorCode).toBe(ErrorCode.NONE);
  first.unload(p);
  expect(first.describe(id)).toBeUndefined();
  expect((await first.endTxn(id, init.producerId, init.producerEpoch, true)).errorCode).toBe(
    ErrorCode.NOT_COORDINATOR,
  );
  first.close();

  const next = new TransactionCoordinator(deps);
  const loading = next.load(p);
  expect(next.coordinatorError(id)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  await loading;
  expect(next.describe(id)?.producerId).toBe(init.producerId);
  // The producer's next InitProducerId bumps its epoch at the new coordinator.
  const bumped = await next.initProducerId(id, 10_000, -1n, -1);
  expect(bumped.errorCode).toBe(ErrorCode.NONE);
  expect(bumped.producerEpoch).toBe(init.producerEpoch + 1);
  next.close();
});

test("transactional offsets staged for another broker's transaction survive a move; the marker commits or aborts them", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  await topics.ensureInternal(OFFSETS_TOPIC, 2);
  await topics.create("in", 1, new Map());
  const config = {} as never;
  const mk = () => new GroupCoordinator({ config, topics, now: () => Date.now(), log: quiet, spread: true });
  const p = keyPartition("eos", 2);
  const first = mk();
  await first.load(p);
  const stage = (c: GroupCoordinator, pid: bigint, offset: bigint) =>
    c.stageTxnOffsets("eos", pid, 0, [{ topic: "in", partition: 0, offset, leaderEpoch: -1, metadata: null }]);
  expect(await stage(first, 100n, 5n)).toBe(ErrorCode.NONE);
  expect(await stage(first, 200n, 9n)).toBe(ErrorCode.NONE);
  expect(first.hasPendingTxnOffset("eos", "in", 0)).toBe(true);
  const committedOffset = (c: GroupCoordinator) =>
    c.fetchOffsets("eos", [{ name: "in", partitionIndexes: [0] }], null).topics[0].partitions[0].committedOffset;
  expect(committedOffset(first)).toBe(-1n);
  first.unload(p);
  first.close();

  // The next coordinator finds both pending; producer 100 commits, producer 200 aborts.
  const next = mk();
  await next.load(p);
  expect(next.hasPendingTxnOffset("eos", "in", 0)).toBe(true);
  expect(await next.completeTxnOffsets(100n, 0, true, p)).toBe(ErrorCode.NONE);
  expect(committedOffset(next)).toBe(5n);
  expect(await next.completeTxnOffsets(200n, 0, false, p)).toBe(ErrorCode.NONE);
  expect(committedOffset(next)).toBe(5n);
  expect(next.hasPendingTxnOffset("eos", "in", 0)).toBe(false);
  // Markers carry their transaction coordinator's epoch: once one at epoch 4 is written for a producer, a
  // coordinator replaced since (epoch 3) is fenced and settles nothing.
  expect(await stage(next, 300n, 11n)).toBe(ErrorCode.NONE);
  expect(await next.completeTxnOffsets(300n, 0, false, p, 4)).toBe(ErrorCode.NONE);
  expect(await stage(next, 300n, 12n)).toBe(ErrorCode.NONE);
  expect(await next.completeTxnOffsets(300n, 0, true, p, 3)).toBe(ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  expect(committedOffset(next)).toBe(5n);
  expect(await next.completeTxnOffsets(300n, 0, false, p, 4)).toBe(ErrorCode.NONE);
  // A marker for a partition this broker does not coordinate is refused (the coordinator retries).
  expect(await next.completeTxnOffsets(100n, 0, true, 1 - p)).toBe(ErrorCode.NOT_COORDINATOR);
  next.unload(p);
  next.close();

  // The log holds the outcome: a third coordinator sees the committed offset and nothing pending.
  const third = mk();
  await third.load(p);
  expect(committedOffset(third)).toBe(5n);
  expect(third.hasPendingTxnOffset("eos", "in", 0)).toBe(false);
  third.close();
});

test("offsets a transaction staged while its broker coordinated the group go to the group's new coordinator at commit", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  await topics.ensureInternal(OFFSETS_TOPIC, 1);
  await topics.ensureInternal(TXN_TOPIC, 1);
  await topics.create("out", 1, new Map());
  await topics.create("in", 1, new Map());
  const config = {} as never;
  const lines: string[] = [];
  const log = (level: string, m: string) => void lines.push(`${level} ${m}`);
  const groupsHere = new GroupCoordinator({ config, topics, now: () => Date.now(), log, spread: true });
  const groupsThere = new GroupCoordinator({ config, topics, now: () => Date.now(), log, spread: true });
  // Broker 1 coordinates the transaction (and first the group); broker 2 is where the group moves.
  const txns = new TransactionCoordinator({
    topics,
    now: () => Date.now(),
    log,
    maxTimeoutMs: 60_000,
    checkIntervalMs: 60_000,
    spread: true,
    remoteLeader: (topic) => topic === OFFSETS_TOPIC ? 2 : null,
    sendMarkers: async (_node, m) => {
      const out = new Map<string, number>();
      for (const p of m.partitions) {
        out.set(
          `${p.topic}\u0000${p.partition}`,
          await groupsThere.completeTxnOffsets(m.producerId, m.producerEpoch, m.commit, p.partition),
        );
      }
      return out;
    },
    forwardTxnOffsets: (_id, producerId, producerEpoch, groupId, offsets) =>
      groupsThere.stageTxnOffsets(groupId, producerId, producerEpoch, offsets),
  });
  txns.offsetSink = groupsHere;
  await txns.load(0);
  await groupsHere.load(0);
  const init = await txns.initProducerId("app", 30_000, -1n, -1);
  const { producerId: pid, producerEpoch: epoch } = init;
  const added = await txns.addPartitions("app", pid, epoch, [{ topic: "out", partition: 0 }]);
  expect([...added.values()]).toEqual([ErrorCode.NONE]);
  expect(await txns.addOffsets("app", pid, epoch, "grp")).toBe(ErrorCode.NONE);
  const staged = [{ topic: "in", partition: 0, offset: 42n, leaderEpoch: -1, metadata: null }];
  expect(await txns.stageOffsets("app", pid, epoch, "grp", staged)).toBe(ErrorCode.NONE);
  // The group's partition moves to broker 2 before the commit.
  groupsHere.unload(0);
  await groupsThere.load(0);
  expect((await txns.endTxn("app", pid, epoch, true)).errorCode).toBe(ErrorCode.NONE);
  const fetched = groupsThere.fetchOffsets("grp", [{ name: "in", partitionIndexes: [0] }], null);
  expect(fetched.topics[0].partitions[0].committedOffset).toBe(42n);
  expect(lines.filter((l) => l.includes("not committed"))).toEqual([]);
  expect(txns.describe("app")?.state).toBe("CompleteCommit");
  txns.close();
  groupsHere.close();
  groupsThere.close();
});

test("a replaced transaction coordinator's markers are fenced by the coordinator epoch of the newer one", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  await topics.ensureInternal(TXN_TOPIC, 2);
  await topics.create("d", 1, new Map());
  const logs: string[] = [];
  const mk = (epoch: number) =>
    new TransactionCoordinator({
      topics,
      now: () => Date.now(),
      log: (_l, m) => logs.push(m),
      maxTimeoutMs: 60_000,
      checkIntervalMs: 60_000,
      spread: true,
      coordinatorEpochOf: () => epoch,
    });
  const id = "fenced-coordinator";
  const p = keyPartition(id, 2);
  // The old coordinator (leader epoch 1 of the id's partition) opens a transaction on d-0.
  const old = mk(1);
  await old.load(p);
  const init = await old.initProducerId(id, 30_000, -1n, -1);
  const parts = await old.addPartitions(id, init.producerId, init.producerEpoch, [{ topic: "d", partition: 0 }]);
  expect([...parts.values()]).toEqual([ErrorCode.NONE]);
  // The partition moved (epoch 2) before the old one noticed: the new coordinator aborts the transaction
  // for the producer's next incarnation, its marker carrying coordinator epoch 2.
  const next = mk(2);
  await next.load(p);
  expect((await next.initProducerId(id, 30_000, -1n, -1)).errorCode).toBe(ErrorCode.NONE);
  const log = topics.get("d")!.partitions[0];
  const end = log.logEndOffset;
  expect(end).toBe(1);
  // The old coordinator's commit markers are refused at d-0: nothing written after the abort.
  await old.endTxn(id, init.producerId, init.producerEpoch, true);
  expect(log.logEndOffset).toBe(end);
  expect(logs.some((m) => m.includes("coordinator epoch 1 is older than 2"))).toBe(true);
  expect(producerStateOf(log).coordinatorEpochOf(init.producerId)).toBe(2);
  old.close();
  next.close();
});

test("an EndTxn retried at the next coordinator after a commit: success for the same outcome, CONCURRENT_TRANSACTIONS while its markers are still out", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  await topics.ensureInternal(TXN_TOPIC, 1);
  await topics.create("d", 2, new Map());
  // Partition d-1 is led by a peer that cannot be reached until `reachable` (its leader died, not yet replaced).
  let reachable = false;
  const mk = (epoch: number) =>
    new TransactionCoordinator({
      topics,
      now: () => Date.now(),
      log: quiet,
      maxTimeoutMs: 60_000,
      checkIntervalMs: 60_000,
      spread: true,
      coordinatorEpochOf: () => epoch,
      remoteLeader: (_t, p) => (p === 1 && !reachable ? 9 : null),
      sendMarkers: () => Promise.reject(new Error("connection refused")),
    });
  const id = "retried-end";
  const first = mk(1);
  await first.load(0);
  const init = await first.initProducerId(id, 30_000, -1n, -1);
  const both = [{ topic: "d", partition: 0 }, { topic: "d", partition: 1 }];
  await first.addPartitions(id, init.producerId, init.producerEpoch, both);
  // The commit is decided (PrepareCommit stored) but d-1's marker cannot be written: the client is answered, the
  // markers are retried; then this coordinator dies (its partition moves).
  expect((await first.endTxn(id, init.producerId, init.producerEpoch, true)).errorCode).toBe(ErrorCode.NONE);
  expect(first.describe(id)?.state).toBe("PrepareCommit");
  first.close();
  // The next coordinator loads it, still cannot reach d-1's leader: a retried EndTxn waits (retriable).
  const next = mk(2);
  await next.load(0);
  expect(next.describe(id)?.state).toBe("PrepareCommit");
  expect((await next.endTxn(id, init.producerId, init.producerEpoch, true)).errorCode).toBe(
    ErrorCode.CONCURRENT_TRANSACTIONS,
  );
  // d-1 has a leader again: the periodic retry completes the commit, and the client's retry succeeds.
  reachable = true;
  await next.abortExpired();
  expect(next.describe(id)?.state).toBe("CompleteCommit");
  expect((await next.endTxn(id, init.producerId, init.producerEpoch, true)).errorCode).toBe(ErrorCode.NONE);
  expect((await next.endTxn(id, init.producerId, init.producerEpoch, false)).errorCode).toBe(
    ErrorCode.INVALID_TXN_STATE,
  );
  next.close();
});

test("EndTxn is answered once the outcome is stored when a peer holds its markers, as Kafka answers after Prepare*", async () => {
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  await topics.load();
  await topics.ensureInternal(TXN_TOPIC, 1);
  await topics.create("d", 2, new Map());
  // d-1's leader accepts the WriteTxnMarkers but answers only when released (a stuck peer, up to its request timeout).
  let release: (codes: Map<string, number>) => void = () => {};
  const held = new Promise<Map<string, number>>((resolve) => (release = resolve));
  const coordinator = new TransactionCoordinator({
    topics,
    now: () => Date.now(),
    log: quiet,
    maxTimeoutMs: 60_000,
    checkIntervalMs: 60_000,
    spread: true,
    endTxnWaitMs: 20,
    remoteLeader: (_t, p) => (p === 1 ? 9 : null),
    sendMarkers: () => held,
  });
  await coordinator.load(0);
  const id = "held-markers";
  const init = await coordinator.initProducerId(id, 30_000, -1n, -1);
  const both = [{ topic: "d", partition: 0 }, { topic: "d", partition: 1 }];
  await coordinator.addPartitions(id, init.producerId, init.producerEpoch, both);
  const ended = await coordinator.endTxn(id, init.producerId, init.producerEpoch, true);
  expect(ended.errorCode).toBe(ErrorCode.NONE);
  // Decided and answered; the producer's next transaction waits (retriable) until the markers are all written.
  expect(coordinator.describe(id)?.state).toBe("PrepareCommit");
  const next = await coordinator.addPartitions(id, init.producerId, init.producerEpoch, both);
  expect([...next.values()]).toEqual([ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.CONCURRENT_TRANSACTIONS]);
  release(new Map());
  for (let i = 0; i < 100 && coordinator.describe(id)?.state !== "CompleteCommit"; i++) await Bun.sleep(10);
  expect(coordinator.describe(id)?.state).toBe("CompleteCommit");
  expect(topics.get("d")!.partitions[0].logEndOffset).toBe(1); // d-0's marker, written here
  coordinator.close();
});
