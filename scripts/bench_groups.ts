// Group coordinator benchmarks (not a test), against an in-process broker over TCP:
//   1. time from the first JoinGroup to a fully assigned group of 50 members (classic protocol,
//      MEMBER_ID_REQUIRED handshake, leader's SyncGroup, every member's SyncGroup answered), and
//      the same for a KIP-848 consumer group (every member at the group's epoch, nothing pending);
//   2. offset commits per second (one partition per commit, pipelined on a few connections),
//      each acknowledged only after its record is appended to __consumer_offsets.
//   bun scripts/bench_groups.ts [members=50] [commits=20000] [data-dir]
// With a data dir the file engine stores __consumer_offsets, and a commit is answered after its fsync
// (chronik.fsync.acks.all, the default; CHRONIK_FSYNC=0 turns it off for comparison).
import { bunRuntime } from "../adapters/bun.ts";
import { startBroker } from "../src/broker/broker.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { OffsetCommit } from "../src/protocol/messages/08_offset_commit.ts";
import { JoinGroup } from "../src/protocol/messages/11_join_group.ts";
import { SyncGroup } from "../src/protocol/messages/14_sync_group.ts";
import { ConsumerGroupHeartbeat } from "../src/protocol/messages/68_consumer_group_heartbeat.ts";
import { WireClient } from "../tests/helpers/wire_client.ts";
import { ZERO_UUID } from "../src/protocol/codec.ts";

const MEMBERS = Number(process.argv[2] ?? 50);
const COMMITS = Number(process.argv[3] ?? 20000);
const DATA_DIR = process.argv[4] ?? null;
const FSYNC = process.env.CHRONIK_FSYNC !== "0";

const broker = await startBroker({ ...bunRuntime, log() {} }, {
  host: "127.0.0.1",
  port: 0,
  logLevel: "warn",
  "group.initial.rebalance.delay.ms": 0,
  "group.consumer.heartbeat.interval.ms": 50,
  ...(DATA_DIR ? { dataDir: DATA_DIR, "chronik.fsync.acks.all": FSYNC } : {}),
});
await broker.services.topics.create("bench", 100, new Map());
const topicId = broker.services.topics.get("bench")!.id;
const clients = await Promise.all(Array.from({ length: MEMBERS }, () => WireClient.connect(broker.port)));

async function classicRound(group: string): Promise<number> {
  const t0 = performance.now();
  const join = (c: WireClient, memberId: string) =>
    c.send(JoinGroup, 9, {
      groupId: group,
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 30000,
      memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(16) }],
      reason: null,
    });
  const joined = await Promise.all(clients.map(async (c) => {
    const first = await join(c, "");
    return first.errorCode === ErrorCode.MEMBER_ID_REQUIRED ? join(c, first.memberId!) : first;
  }));
  const assignments = joined.map((j) => ({ memberId: j.memberId!, assignment: new Uint8Array(32) }));
  const synced = await Promise.all(
    joined.map((j, i) =>
      clients[i].send(SyncGroup, 5, {
        groupId: group,
        generationId: j.generationId!,
        memberId: j.memberId!,
        groupInstanceId: null,
        protocolType: "consumer",
        protocolName: "range",
        assignments: j.leader === j.memberId ? assignments : [],
      })
    ),
  );
  const ms = performance.now() - t0;
  if (!synced.every((s) => s.errorCode === 0 && s.assignment!.length === 32)) {
    throw new Error("classic group did not settle");
  }
  return ms;
}

async function consumerRound(group: string): Promise<number> {
  const t0 = performance.now();
  const state = clients.map(() => ({
    memberId: "",
    epoch: 0,
    owned: [] as { topicId: string; partitions: number[] }[],
  }));
  for (;;) {
    await Promise.all(clients.map(async (c, i) => {
      const s = state[i];
      const r = await c.send(ConsumerGroupHeartbeat, 0, {
        groupId: group,
        memberId: s.memberId,
        memberEpoch: s.epoch,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: s.epoch === 0 ? 30000 : -1,
        subscribedTopicNames: s.epoch === 0 ? ["bench"] : null,
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: s.owned,
      });
      if (r.errorCode !== 0) throw new Error(`heartbeat error ${r.errorCode}`);
      s.memberId = r.memberId!;
      s.epoch = r.memberEpoch!;
      if (r.assignment) {
        s.owned = r.assignment.topicPartitions!.map((t) => ({ topicId: t.topicId!, partitions: t.partitions! }));
      }
    }));
    const g = broker.services.groups.group(group);
    if (g && g.kind === "consumer" && g.state === "Stable" && g.members.size === MEMBERS) break;
  }
  const ms = performance.now() - t0;
  const total = state.reduce((n, s) => n + s.owned.reduce((k, t) => k + t.partitions.length, 0), 0);
  if (total !== 100 || state.some((s) => s.owned[0]?.topicId !== topicId)) {
    throw new Error(`consumer group assigned ${total} partitions`);
  }
  return ms;
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const classic = [];
const kip848 = [];
for (let i = 0; i < 7; i++) {
  classic.push(await classicRound(`bench-classic-${i}`));
  kip848.push(await consumerRound(`bench-consumer-${i}`));
}
console.log(
  `join to fully assigned, ${MEMBERS} members (median of 7, delay 0): classic ${
    median(classic).toFixed(1)
  } ms, KIP-848 ${median(kip848).toFixed(1)} ms`,
);

// Offset commits: simple (generation -1) commits of one partition each, pipelined.
const committers = clients.slice(0, 8);
let next = 0;
const t0 = performance.now();
await Promise.all(committers.map(async (c, k) => {
  const inflight: Promise<unknown>[] = [];
  while (next < COMMITS) {
    const i = next++;
    inflight.push(c.send(OffsetCommit, 9, {
      groupId: `bench-commits-${k}`,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{
        name: "bench",
        topicId: ZERO_UUID,
        partitions: [{
          partitionIndex: i % 100,
          committedOffset: BigInt(i),
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: null,
        }],
      }],
    }));
    if (inflight.length >= 64) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
}));
const secs = (performance.now() - t0) / 1000;
console.log(
  `offset commits: ${COMMITS} in ${secs.toFixed(2)} s = ${
    Math.round(COMMITS / secs)
  } commits/s (8 connections, 64 in flight each, ${
    DATA_DIR ? `file store, ${FSYNC ? "fsync before the answer" : "no fsync"}` : "memory store"
  })`,
);

for (const c of clients) c.close();
await broker.close();
