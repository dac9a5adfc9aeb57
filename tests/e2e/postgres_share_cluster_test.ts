// Share groups (KIP-932) on three brokers on one PostgreSQL, over the wire (generated codec):
// - the group's coordinator is the leader of its __consumer_offsets partition: ShareGroupHeartbeat and
//   ShareGroupDescribe elsewhere answer NOT_COORDINATOR;
// - each share-partition is served by its partition's leader: ShareFetch elsewhere answers
//   NOT_LEADER_OR_FOLLOWER naming the leader; two members, each fetching from every leader, together
//   acquire every record of a six-partition topic led by all three brokers, and accept them;
// - a partition leader is SIGKILLed with records of one partition accepted, one released and four
//   acquired but not acknowledged: the new leader loads the partition's state from __share_group_state,
//   redelivers the released record (its delivery count kept) and the four in flight, never an accepted
//   one; in the end every record is accepted exactly once;
// - the coordinator is SIGKILLed: the last broker coordinates the group, loads its members (stored in
//   __share_group_state), which carry on at their epoch and get only the records produced since.
// - share.version finalized (and later turned off) through one broker takes effect on the others without a
//   restart;
// And the Java KafkaShareConsumer (tests/java, ShareClusterCases, first): two consumers bootstrapped through
// different brokers accept every record of a six-partition topic led by the three brokers exactly once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { ShareGroupDescribe } from "../../src/protocol/messages/77_share_group_describe.ts";
import { ShareFetch } from "../../src/protocol/messages/78_share_fetch.ts";
import { ShareAcknowledge } from "../../src/protocol/messages/79_share_acknowledge.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { metadata, until } from "../helpers/kcat.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { expectCase } from "./cases.ts";
import { buildJava, javaMissing, runJava } from "./jvm.ts";
import type { Ack } from "../helpers/share.ts";
import { ACCEPT, ack, enableShare, RELEASE, setShareVersion, shareHeartbeat, shareVersion } from "../helpers/share.ts";

const GROUP = "sq";
const TOPIC = "q";
const PARTITIONS = 6;
const PER = 10;

const noJava = javaMissing();
if (noJava) console.warn(`postgres_share_cluster_test: Java SKIPPED, ${noJava}`);
else buildJava();

let pg: TestPostgres;
const brokers: BrokerProcess[] = [];
const clients: WireClient[] = [];
let all: string[] = [];
let conns: WireClient[] = [];
type Meta = Awaited<ReturnType<typeof metadata>>;
/** The topic's partitions are led by the three brokers. */
const spread = (m: Meta, n: number) =>
  m.brokers.length === 3 && m.topics[0]?.partitions.length === n &&
  // Every partition named a leader (-1 while one takes a partition over) and all three brokers lead some.
  m.topics[0].partitions.every((p) => p.leader >= 1) && new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3;

beforeAll(async () => {
  pg = await startPostgres();
  const common = [
    "--storage",
    pg.createDatabase("share"),
    "-o",
    "broker.heartbeat.interval.ms=300",
    "-o",
    "broker.session.timeout.ms=2000",
    "-o",
    "leader.imbalance.check.interval.seconds=1", // brokers started one after another share the internal topics
    "-o",
    "offsets.topic.num.partitions=12",
  ];
  for (let i = 0; i < 3; i++) brokers.push(await startBrokerProcess("bun", [...common, "--node-id", String(i + 1)]));
  all = brokers.map((b) => `127.0.0.1:${b.port}`);
  conns = await Promise.all(brokers.map(connect));
  // share.version finalized through one broker takes effect on every broker, without a restart.
  expect((await enableShare(conns[0])).errorCode).toBe(ErrorCode.NONE);
  for (const c of conns) expect(await until(() => shareVersion(c), (v) => v === 1)).toBe(1);
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  for (const b of brokers) await b.stop().catch(() => {});
  pg?.destroy();
});

const connect = async (b: BrokerProcess) => {
  const c = await WireClient.connect(b.port);
  clients.push(c);
  return c;
};

type Got = { partition: number; errorCode: number; leader: number; acquired: [number, number, number][] };

/** One ShareFetch: acknowledgements per partition in, per partition what came back. */
async function fetch(
  c: WireClient,
  member: string,
  epoch: number,
  topicId: string,
  parts: number[],
  acks: Map<number, Ack[]> = new Map(),
): Promise<{ errorCode: number; parts: Got[]; ackCodes: Map<number, number> }> {
  const r = await c.send(ShareFetch, 1, {
    groupId: GROUP,
    memberId: member,
    shareSessionEpoch: epoch,
    maxWaitMs: 200,
    minBytes: 1,
    maxBytes: 1 << 20,
    maxRecords: 500,
    batchSize: 500,
    topics: [{
      topicId,
      partitions: parts.map((p) => ({
        partitionIndex: p,
        partitionMaxBytes: 0,
        acknowledgementBatches: acks.get(p) ?? [],
      })),
    }],
    forgottenTopicsData: [],
  });
  const out: Got[] = [];
  const ackCodes = new Map<number, number>();
  for (const t of r.responses ?? []) {
    for (const p of t.partitions!) {
      ackCodes.set(p.partitionIndex!, p.acknowledgeErrorCode!);
      out.push({
        partition: p.partitionIndex!,
        errorCode: p.errorCode!,
        leader: p.currentLeader!.leaderId!,
        acquired: p.acquiredRecords!.map((a) => [Number(a.firstOffset), Number(a.lastOffset), a.deliveryCount!]),
      });
    }
  }
  return { errorCode: r.errorCode!, parts: out, ackCodes };
}

const offsetsOf = (g: Got) => g.acquired.flatMap(([f, l]) => Array.from({ length: l - f + 1 }, (_, i) => f + i));

describe("share groups on three brokers on one PostgreSQL", () => {
  test.skipIf(noJava !== null)(
    "Java KafkaShareConsumer: two consumers through different brokers accept every record once",
    async () => {
      const created = await conns[2].send(CreateTopics, 7, {
        topics: [{ name: "js-share", numPartitions: 6, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(created.topics![0].errorCode).toBe(ErrorCode.NONE);
      expect(spread(await until(() => metadata(all[0], "js-share"), (m) => spread(m, 6)), 6)).toBe(true);
      const { results } = await runJava(all.join(","), ["cluster.share"], "js");
      expectCase(results, "cluster.share");
    },
    120_000,
  );

  test("share.version turned off and on again through one broker takes effect on every broker", async () => {
    expect((await setShareVersion(conns[1], 0)).errorCode).toBe(ErrorCode.NONE);
    for (const c of conns) {
      expect(await until(() => shareVersion(c), (v) => v === 0)).toBe(0);
      expect((await shareHeartbeat(c, "off", "m", 0, [TOPIC])).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    }
    expect((await enableShare(conns[2])).errorCode).toBe(ErrorCode.NONE);
    for (const c of conns) expect(await until(() => shareVersion(c), (v) => v === 1)).toBe(1);
  }, 60_000);
  test(
    "coordinator and partition leaders serve a share group; a killed partition leader's share state moves with the partition",
    async () => {
      const created = await conns[0].send(CreateTopics, 7, {
        topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      const topicId = created.topics![0].topicId!;
      const meta = await until(() => metadata(all[0], TOPIC), (m) => spread(m, PARTITIONS));
      expect(spread(meta, PARTITIONS)).toBe(true);
      const leaderOf = new Map(meta.topics[0].partitions.map((p) => [p.partition, p.leader]));

      // Records i of partition p at offset i, produced through each partition's leader.
      const enc = new TextEncoder();
      for (let p = 0; p < PARTITIONS; p++) {
        // The leader learns of the topic and takes the partition over at its next beat.
        const r = await until(
          () =>
            conns[leaderOf.get(p)! - 1].send(Produce, 9, {
              transactionalId: null,
              acks: -1,
              timeoutMs: 5000,
              topicData: [{
                name: TOPIC,
                topicId: ZERO_UUID,
                partitionData: [{
                  index: p,
                  records: buildRecordBatch({
                    records: Array.from({ length: PER }, (_, i) => ({ key: null, value: enc.encode(`p${p}-${i}`) })),
                  }),
                }],
              }],
            }),
          (r) =>
            !([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_LEADER_OR_FOLLOWER] as number[]).includes(
              r.responses![0].partitionResponses![0].errorCode!,
            ),
        );
        expect(r.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
      }

      // The coordinator, as every broker names it; the others refuse the group.
      const coordinators = await until(
        () =>
          Promise.all(
            conns.map(async (c) =>
              (await c.send(FindCoordinator, 4, { key: "", keyType: 0, coordinatorKeys: [GROUP] }))
                .coordinators![0].nodeId!
            ),
          ),
        (ids) => ids.every((id) => id === ids[0] && id > 0),
      );
      const coordinator = coordinators[0];
      const coord = conns[coordinator - 1];
      for (const [i, c] of conns.entries()) {
        if (i + 1 === coordinator) continue;
        expect((await shareHeartbeat(c, GROUP, "mA", 0, [TOPIC])).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
        const d = await c.send(ShareGroupDescribe, 1, { groupIds: [GROUP], includeAuthorizedOperations: false });
        expect(d.groups![0].errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      }
      const alter = await coord.send(IncrementalAlterConfigs, 1, {
        resources: [{
          resourceType: 32,
          resourceName: GROUP,
          configs: [{ name: "share.auto.offset.reset", configOperation: 0, value: "earliest" }],
        }],
        validateOnly: false,
      });
      expect(alter.responses![0].errorCode).toBe(ErrorCode.NONE);

      // Two members join at the coordinator and get three partitions each.
      const members = ["mA", "mB"];
      const epochs = new Map<string, number>();
      const assigned = new Map<string, number[]>();
      for (const m of members) {
        const r = await shareHeartbeat(coord, GROUP, m, 0, [TOPIC]);
        expect(r.errorCode).toBe(ErrorCode.NONE);
        epochs.set(m, r.memberEpoch!);
        if (r.assignment) assigned.set(m, r.assignment.topicPartitions!.flatMap((t) => t.partitions!).sort());
      }
      for (const m of members) {
        const r = await shareHeartbeat(coord, GROUP, m, epochs.get(m)!, null);
        expect(r.errorCode).toBe(ErrorCode.NONE);
        epochs.set(m, r.memberEpoch!);
        if (r.assignment) assigned.set(m, r.assignment.topicPartitions!.flatMap((t) => t.partitions!).sort());
      }
      expect(assigned.get("mA")!.length).toBe(3);
      expect([...assigned.get("mA")!, ...assigned.get("mB")!].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      const described = await coord.send(ShareGroupDescribe, 1, {
        groupIds: [GROUP],
        includeAuthorizedOperations: false,
      });
      expect(described.groups![0].members!.length).toBe(2);

      // ShareFetch at a broker of partitions it does not lead: NOT_LEADER_OR_FOLLOWER naming their leader.
      const elsewhere = [...leaderOf].filter(([, l]) => l !== 1).map(([p]) => p);
      const probe = await fetch(conns[0], "probe", 0, topicId, elsewhere);
      expect(probe.errorCode).toBe(ErrorCode.NONE);
      expect(probe.parts.length).toBe(elsewhere.length);
      for (const g of probe.parts) {
        expect(g.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        expect(g.leader).toBe(leaderOf.get(g.partition)!);
      }
      await fetch(conns[0], "probe", -1, topicId, []);

      // The victim: a broker that leads partitions and does not coordinate; V, one of its partitions.
      const victim = [1, 2, 3].find((n) => n !== coordinator)!;
      const V = [...leaderOf].find(([, l]) => l === victim)![0];
      const holder = members.find((m) => assigned.get(m)!.includes(V))!;

      // Each member fetches its partitions from their leaders, each over its own connection.
      const accepted = new Map<number, number[]>(Array.from({ length: PARTITIONS }, (_, p) => [p, []]));
      const own = new Map<string, WireClient>();
      const connOf = async (m: string, node: number) => {
        const k = `${m}@${node}`;
        if (!own.has(k)) own.set(k, await connect(brokers[node - 1]));
        return own.get(k)!;
      };
      for (const m of members) {
        for (const node of [1, 2, 3]) {
          const parts = assigned.get(m)!.filter((p) => leaderOf.get(p) === node);
          if (parts.length === 0) continue;
          const c = await connOf(m, node);
          const got = await fetch(c, m, 0, topicId, parts);
          expect(got.errorCode).toBe(ErrorCode.NONE);
          const acks = new Map<number, Ack[]>();
          for (const g of got.parts) {
            expect(g.errorCode).toBe(ErrorCode.NONE);
            expect(g.acquired).toEqual([[0, PER - 1, 1]]);
            if (g.partition === V) {
              // 0-4 accepted, 5 released, 6-9 kept in flight.
              acks.set(g.partition, [ack(0, 4, ACCEPT), ack(5, 5, RELEASE)]);
              accepted.get(g.partition)!.push(0, 1, 2, 3, 4);
            } else {
              acks.set(g.partition, [ack(0, PER - 1, ACCEPT)]);
              accepted.get(g.partition)!.push(...offsetsOf(g));
            }
          }
          const a = await c.send(ShareAcknowledge, 1, {
            groupId: GROUP,
            memberId: m,
            shareSessionEpoch: 1,
            topics: [{
              topicId,
              partitions: [...acks].map(([p, b]) => ({ partitionIndex: p, acknowledgementBatches: b })),
            }],
          });
          expect(a.errorCode).toBe(ErrorCode.NONE);
          for (const t of a.responses!) for (const p of t.partitions!) expect(p.errorCode).toBe(ErrorCode.NONE);
        }
      }

      // SIGKILL V's leader; its partitions move to the survivors.
      brokers[victim - 1].proc.kill("SIGKILL");
      await brokers[victim - 1].proc.exited;
      const alive = [1, 2, 3].filter((n) => n !== victim);
      const moved = (m: Meta) =>
        m.topics[0]?.partitions.length === PARTITIONS &&
        m.topics[0].partitions.every((p) => alive.includes(p.leader));
      const after = await until(() => metadata(all[alive[0] - 1], TOPIC), moved);
      expect(moved(after)).toBe(true);
      const leaderNow = new Map(after.topics[0].partitions.map((p) => [p.partition, p.leader]));

      // Every member fetches again from the leaders now: only V's released and in-flight records come back.
      const again = new Map<number, number[]>();
      const kept = new Map<number, number>();
      for (const m of members) {
        for (const node of alive) {
          const parts = assigned.get(m)!.filter((p) => leaderNow.get(p) === node);
          if (parts.length === 0) continue;
          const c = await connOf(m, node);
          const got = await until(
            () => fetch(c, m, 0, topicId, parts),
            (r) =>
              r.parts.every((g) => g.errorCode === ErrorCode.NONE) && (m !== holder || !parts.includes(V) ||
                r.parts.some((g) => g.partition === V && g.acquired.length > 0)),
          );
          for (const g of got.parts) {
            expect(g.errorCode).toBe(ErrorCode.NONE);
            again.set(g.partition, offsetsOf(g));
            for (const [f, l, n] of g.acquired) for (let o = f; o <= l; o++) kept.set(o, n);
          }
          const acks = new Map<number, Ack[]>();
          for (const g of got.parts) if (g.acquired.length > 0) acks.set(g.partition, [ack(5, PER - 1, ACCEPT)]);
          if (acks.size === 0) continue;
          const a = await fetch(c, m, 1, topicId, parts, acks);
          for (const [p, code] of a.ackCodes) {
            if (acks.has(p)) expect(code).toBe(ErrorCode.NONE);
          }
          for (const p of acks.keys()) accepted.get(p)!.push(...again.get(p)!);
        }
      }
      for (let p = 0; p < PARTITIONS; p++) expect(again.get(p) ?? []).toEqual(p === V ? [5, 6, 7, 8, 9] : []);
      // The released record was delivered once before (stored); the in-flight ones were not stored as such.
      expect(kept.get(5)).toBe(2);
      for (let p = 0; p < PARTITIONS; p++) {
        expect(accepted.get(p)!.sort((a, b) => a - b)).toEqual(Array.from({ length: PER }, (_, i) => i));
      }

      // SIGKILL the coordinator too: the last broker leads everything and coordinates the group, whose members
      // it loads; they get the records produced since, only those.
      brokers[coordinator - 1].proc.kill("SIGKILL");
      await brokers[coordinator - 1].proc.exited;
      const last = alive.find((n) => n !== coordinator)!;
      const lastConn = conns[last - 1];
      const alone = (m: Meta) =>
        m.topics[0]?.partitions.length === PARTITIONS && m.topics[0].partitions.every((p) => p.leader === last);
      expect(alone(await until(() => metadata(all[last - 1], TOPIC), alone))).toBe(true);
      // The members carry on at their epoch: the new coordinator loaded them from __share_group_state.
      for (const m of members) {
        const r = await until(
          () => shareHeartbeat(lastConn, GROUP, m, epochs.get(m)!, null),
          (r) => r.errorCode === ErrorCode.NONE,
        );
        expect(r.errorCode).toBe(ErrorCode.NONE);
        expect(r.memberEpoch).toBe(epochs.get(m)!);
      }
      const d = await lastConn.send(ShareGroupDescribe, 1, { groupIds: [GROUP], includeAuthorizedOperations: false });
      expect(d.groups![0].members!.map((x) => x.memberId!).sort()).toEqual(members);
      const produced = await lastConn.send(Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{
          name: TOPIC,
          topicId: ZERO_UUID,
          partitionData: Array.from({ length: PARTITIONS }, (_, p) => ({
            index: p,
            records: buildRecordBatch({ records: [{ key: null, value: enc.encode(`p${p}-late`) }] }),
          })),
        }],
      });
      for (const r of produced.responses![0].partitionResponses!) expect(r.errorCode).toBe(ErrorCode.NONE);
      const late = new Map<number, number[]>();
      for (const m of members) {
        const c = await connOf(m, last);
        const got = await fetch(c, m, 0, topicId, Array.from({ length: PARTITIONS }, (_, p) => p));
        const acks = new Map<number, Ack[]>();
        for (const g of got.parts) {
          expect(g.errorCode).toBe(ErrorCode.NONE);
          for (const o of offsetsOf(g)) {
            late.set(g.partition, [...late.get(g.partition) ?? [], o]);
            acks.set(g.partition, [...acks.get(g.partition) ?? [], ack(o, o, ACCEPT)]);
          }
        }
        if (acks.size === 0) continue;
        const a = await fetch(c, m, 1, topicId, [...acks.keys()], acks);
        for (const p of acks.keys()) expect(a.ackCodes.get(p)).toBe(ErrorCode.NONE);
      }
      for (let p = 0; p < PARTITIONS; p++) expect(late.get(p)).toEqual([PER]);
    },
    120_000,
  );
});
