// Group and transaction coordinators spread over three brokers (Bun, Node, Bun) on one PostgreSQL, as
// Kafka spreads them: the coordinator of a group is the leader of its __consumer_offsets partition, that
// of a transactional id the leader of its __transaction_state partition.
// 1. FindCoordinator (v4 batched and v3 single, groups and transactional ids) names more than one broker,
//    every broker gives the same answers, and a broker asked about a group it does not coordinate answers
//    NOT_COORDINATOR.
//    A KIP-848 group (@platformatic/kafka) coordinated by one broker, members bootstrapped on the others,
//    reads every record.
// 2. A transaction whose coordinator is SIGKILLed after its records were sent: another broker loads its
//    __transaction_state partition and the transaction ends whole (committed by the client's retried
//    EndTxn, or aborted at its timeout), never half-visible, its offsets (sent to a group coordinated by
//    another broker) committed with it or not at all; read_committed moves past it.
// 3. A kafkajs group with members bootstrapped on different brokers consumes every record and commits; its
//    coordinator is SIGKILLed: the group's __consumer_offsets partition moves, the new leader loads the
//    group, and the members continue from the committed offsets (only records produced after arrive).
import { describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { bunRuntime } from "../../adapters/bun.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import type { BrokerProcess } from "./harness.ts";
import { pgClusterSuite } from "../helpers/pg_cluster_suite.ts";
import { eventually } from "../helpers/consume.ts";
import { kcat, metadata, until } from "../helpers/kcat.ts";
import { createCoordinatorTopics, kafkaOn, readPartition, startCluster } from "../helpers/pg_cluster.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const { brokers, conns, database } = pgClusterSuite();

const addrOf = (b: BrokerProcess) => `127.0.0.1:${b.port}`;

/** FindCoordinator v4 (batched) on one broker: node id per key. */
async function coordinators(c: KafkaConnection, keyType: number, keys: string[]): Promise<Map<string, number>> {
  const r = await c.send(FindCoordinator, 4, { keyType, coordinatorKeys: keys });
  return new Map(r.coordinators!.map((x) => [x.key!, x.errorCode === ErrorCode.NONE ? x.nodeId! : -x.errorCode!]));
}

describe("coordinators spread over three brokers on one PostgreSQL", () => {
  test(
    "FindCoordinator spreads groups and transactional ids; a transaction whose coordinator dies ends whole; a group whose coordinator dies moves and continues from its committed offsets",
    async () => {
      const url = database("coord");
      await startCluster(url, ["bun", "node", "bun"], brokers, [
        "-o",
        "offsets.topic.num.partitions=12",
        "-o",
        "transaction.state.log.num.partitions=6",
        "-o",
        "transaction.abort.timed.out.transaction.cleanup.interval.ms=500",
      ]);
      const all = brokers.map(addrOf);
      // The internal partitions, created by the first FindCoordinator, settle over the three brokers.
      await createCoordinatorTopics(brokers[0].port);
      const spreadOver = (m: Awaited<ReturnType<typeof metadata>>) =>
        m.brokers.length === 3 && m.topics[0]?.partitions.every((p) => p.leader >= 0) &&
        new Set(m.topics[0]?.partitions.map((p) => p.leader)).size === 3;
      expect(spreadOver(await until(() => metadata(all[0], "__consumer_offsets"), spreadOver))).toBe(true);
      expect(spreadOver(await until(() => metadata(all[0], "__transaction_state"), spreadOver))).toBe(true);

      // 1. FindCoordinator: the same answers from every broker, spread over more than one.
      for (const b of brokers) conns.push(await KafkaConnection.open(bunRuntime, "127.0.0.1", b.port));
      const groupIds = Array.from({ length: 40 }, (_, i) => `group-${i}`);
      const txnIds = Array.from({ length: 40 }, (_, i) => `txn-${i}`);
      const settled = async () => {
        const g = await Promise.all(conns.map((c) => coordinators(c, 0, groupIds)));
        const t = await Promise.all(conns.map((c) => coordinators(c, 1, txnIds)));
        return { g, t };
      };
      const same = (ms: Map<string, number>[]) =>
        ms.every((m) => JSON.stringify([...m]) === JSON.stringify([...ms[0]]));
      const answers = await until(settled, ({ g, t }) => same(g) && same(t));
      expect(same(answers.g) && same(answers.t)).toBe(true);
      const groupNodes = new Set(answers.g[0].values());
      const txnNodes = new Set(answers.t[0].values());
      expect([...groupNodes].every((n) => n >= 1 && n <= 3)).toBe(true);
      expect(groupNodes.size).toBeGreaterThan(1);
      expect([...txnNodes].every((n) => n >= 1 && n <= 3)).toBe(true);
      expect(txnNodes.size).toBeGreaterThan(1);
      const v3 = await conns[1].send(FindCoordinator, 3, { key: "group-7", keyType: 0 });
      expect(v3.nodeId).toBe(answers.g[0].get("group-7")!);
      // A broker that does not coordinate a group says so.
      const owner = answers.g[0].get("group-7")!;
      const other = conns[owner === 1 ? 1 : 0];
      const refused = await other.send(OffsetFetch, 7, { groupId: "group-7", topics: null, requireStable: false });
      expect(refused.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      const asked = await conns[owner - 1].send(OffsetFetch, 7, {
        groupId: "group-7",
        topics: null,
        requireStable: false,
      });
      expect(asked.errorCode).toBe(ErrorCode.NONE);

      const kafka = kafkaOn(brokers, "coord");
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic: "tx", numPartitions: 3 }, { topic: "work", numPartitions: 6 }, {
          topic: "kip",
          numPartitions: 4,
        }],
      });
      await admin.disconnect();

      // A KIP-848 group (@platformatic/kafka, ConsumerGroupHeartbeat) coordinated by broker 2, its members
      // bootstrapped on brokers 1 and 3: every record arrives.
      const kipGroup = groupIds.find((g) => answers.g[0].get(g) === 2)!;
      const kipProducer = new Producer({ clientId: "kip-prod", bootstrapBrokers: all, serializers: stringSerializers });
      const kipSent = Array.from({ length: 40 }, (_, i) => `k${i}`);
      await kipProducer.send({ messages: kipSent.map((value, i) => ({ topic: "kip", key: `${i}`, value })) });
      await kipProducer.close();
      const kipSeen = new Set<string>();
      const kipMembers = [];
      for (const bootstrap of [all[0], all[2]]) {
        const c = new Consumer({
          clientId: `kip-${bootstrap}`,
          groupId: kipGroup,
          groupProtocol: "consumer",
          bootstrapBrokers: [bootstrap],
          deserializers: stringDeserializers,
          // @ts-expect-error @platformatic/kafka 2.12's types leave sessionTimeout out of KIP-848 consumer options,
          // but its validator still requires rebalanceTimeout >= sessionTimeout (as groups_migration_test notes).
          sessionTimeout: 6000,
          heartbeatInterval: 300,
          rebalanceTimeout: 10000,
          autocommit: 100,
          maxWaitTime: 200,
        });
        const stream = await c.consume(
          { topics: ["kip"], mode: MessagesStreamModes.COMMITTED, fallbackMode: "earliest" } as never,
        );
        stream.on("data", (m: { value: string }) => void kipSeen.add(m.value));
        kipMembers.push({ c, stream });
      }
      await eventually("the KIP-848 group reads every record", () => kipSent.every((v) => kipSeen.has(v)), 30_000);
      for (const { c, stream } of kipMembers) {
        await stream.close();
        await c.close();
      }

      // 2. A transaction coordinated by broker 2 (Node): its records sent, the coordinator SIGKILLed.
      const txnId = txnIds.find((t) => answers.t[0].get(t) === 2)!;
      const producer = kafka.producer({
        transactionalId: txnId,
        maxInFlightRequests: 1,
        idempotent: true,
        transactionTimeout: 4000,
      });
      await producer.connect();
      const tx = await producer.transaction();
      await tx.send({ topic: "tx", messages: [0, 1, 2].map((p) => ({ partition: p, value: `t${p}` })) });
      // Offsets for a group another broker coordinates (TxnOffsetCommit goes there; the marker settles them).
      const eosGroup = groupIds.find((g) => answers.g[0].get(g) === 1)!;
      await tx.sendOffsets({
        consumerGroupId: eosGroup,
        topics: [{ topic: "work", partitions: [{ partition: 0, offset: "5" }] }],
      });
      brokers[1].proc.kill("SIGKILL");
      await brokers[1].stop();
      const left = [all[0], all[2]];
      // Committed through the broker that loads its __transaction_state partition, or aborted at its timeout.
      // Committed through the broker that loads its __transaction_state partition (kafkajs may still report a
      // timeout of the EndTxn it sent to the dead broker), or aborted at its timeout: whole either way.
      await tx.commit().catch(() => {});
      await producer.disconnect().catch(() => {});
      const moved = await until(
        () => metadata(left[0], "tx"),
        (m) => m.brokers.length === 2 && m.topics[0].partitions.every((p) => p.leader === 1 || p.leader === 3),
      );
      expect(moved.brokers.length).toBe(2);
      // A plain record after it in every partition: read_committed reaches it only once the transaction ended.
      for (let p = 0; p < 3; p++) await kcat(["-b", left[0], "-P", "-t", "tx", "-p", String(p)], `after${p}\n`);
      const outcome: string[] = [];
      for (let p = 0; p < 3; p++) {
        const seen = await until(
          () => readPartition(left, "tx", p, "read_committed"),
          (s) => s.includes(`after${p}`),
        );
        expect([`t${p}\nafter${p}\n`, `after${p}\n`]).toContain(seen);
        outcome.push(seen.startsWith("t") ? "committed" : "aborted");
      }
      expect(new Set(outcome).size).toBe(1);
      // The group's offset went with the transaction: committed with it, or not at all.
      const eosAdmin = new Kafka({ brokers: left, logLevel: logLevel.NOTHING }).admin();
      await eosAdmin.connect();
      const eos = await eosAdmin.fetchOffsets({ groupId: eosGroup, topics: ["work"] });
      await eosAdmin.disconnect();
      expect(eos[0].partitions.find((p) => p.partition === 0)!.offset).toBe(outcome[0] === "committed" ? "5" : "-1");
      // Another broker now coordinates the transactional id.
      const now = await coordinators(conns[0], 1, [txnId]);
      expect([1, 3]).toContain(now.get(txnId)!);

      // 3. A group coordinated by broker 3, members bootstrapped on brokers 1 and 3.
      const groupId = groupIds.find((g) => answers.g[0].get(g) === 3)!;
      for (let p = 0; p < 6; p++) {
        await kcat(["-b", left[0], "-P", "-t", "work", "-p", String(p)], `a${p}\nb${p}\nc${p}\n`);
      }
      const seen: string[] = [];
      const consumers = left.map((bootstrap) =>
        new Kafka({
          brokers: [bootstrap],
          logLevel: logLevel.NOTHING,
          retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
        }).consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 10_000, heartbeatInterval: 500 })
      );
      for (const c of consumers) {
        await c.connect();
        await c.subscribe({ topic: "work", fromBeginning: true });
        await c.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      }
      const observer = new Kafka({ brokers: left, logLevel: logLevel.NOTHING }).admin();
      await observer.connect();
      const offsets = () => observer.fetchOffsets({ groupId, topics: ["work"] }).catch(() => []);
      const allCommitted = (n: string) => (o: Awaited<ReturnType<typeof offsets>>) =>
        o[0]?.partitions.length === 6 && o[0].partitions.every((p) => p.offset === n);
      expect(allCommitted("3")(await until(offsets, allCommitted("3")))).toBe(true);
      expect(seen.slice().sort()).toEqual([0, 1, 2, 3, 4, 5].flatMap((p) => [`a${p}`, `b${p}`, `c${p}`]).sort());

      brokers[2].proc.kill("SIGKILL");
      await brokers[2].stop();
      const last = all[0];
      await until(
        () => metadata(last, "work"),
        (m) => m.brokers.length === 1 && m.topics[0].partitions.every((p) => p.leader === 1),
      );
      const before = seen.length;
      for (let p = 0; p < 6; p++) await kcat(["-b", last, "-P", "-t", "work", "-p", String(p)], `d${p}\n`);
      // The group went on from its committed offsets, at the broker left: only the d records arrive
      // (a record may come twice when the members rebalance before committing it, as with Kafka).
      expect(allCommitted("4")(await until(offsets, allCommitted("4")))).toBe(true);
      expect([...new Set(seen.slice(before))].sort()).toEqual([0, 1, 2, 3, 4, 5].map((p) => `d${p}`));
      expect((await coordinators(conns[0], 0, [groupId])).get(groupId)).toBe(1);
      expect(brokers[0].logs()).toMatch(/coordinating 1 group\(s\) of __consumer_offsets-\d+/);
      await observer.disconnect();
      for (const c of consumers) await c.disconnect().catch(() => {});
    },
    180_000,
  );
});
