// Transactions v2 (KIP-890 part 2) across brokers: two brokers (Bun and Node) on one PostgreSQL finalize
// transaction.version 2. A producer sends Produce v12 to the leader of each partition (on both brokers):
// a leader that does not coordinate the transaction adds the partition at the coordinator itself
// (AddPartitionsToTxn v5 broker to broker). TxnOffsetCommit v5 goes to the group's coordinator, another
// broker than the transaction's: it adds the group's __consumer_offsets partition at the transaction's
// coordinator and stages the offsets. EndTxn v5 commits (bumping the epoch): every record is visible to
// read_committed and the offsets are committed; the next transaction aborts: its records never are.
import { describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { TxnOffsetCommit } from "../../src/protocol/messages/28_txn_offset_commit.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { pgClusterSuite } from "../helpers/pg_cluster_suite.ts";
import { metadata, until } from "../helpers/kcat.ts";
import { createCoordinatorTopics, readPartition, startCluster } from "../helpers/pg_cluster.ts";

const { brokers, conns, database } = pgClusterSuite();

const enc = new TextEncoder();
const P = 4;

describe("transactions v2 across two brokers on one PostgreSQL", () => {
  test(
    "implicit adds at a remote coordinator, offsets at another broker's group coordinator; commit, then abort",
    async () => {
      const url = database("coord_tv2");
      await startCluster(url, ["bun", "node"], brokers, [
        "-o",
        "offsets.topic.num.partitions=4",
        "-o",
        "transaction.state.log.num.partitions=4",
      ]);
      const all = brokers.map((b) => `127.0.0.1:${b.port}`);
      for (const b of brokers) conns.push(await KafkaConnection.open(bunRuntime, "127.0.0.1", b.port));
      const created = await conns[0].send(CreateTopics, 7, {
        topics: [{ name: "tv2", numPartitions: P, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(created.topics![0].errorCode).toBe(ErrorCode.NONE);
      // Both brokers know the topic, its leaders on both, and the internal partitions (created by the first
      // FindCoordinator) spread.
      await createCoordinatorTopics(brokers[0].port);
      const settled = async () => ({
        tv2: await Promise.all(all.map((a) => metadata(a, "tv2"))),
        txn: await metadata(all[0], "__transaction_state"),
        offsets: await metadata(all[0], "__consumer_offsets"),
      });
      const spread = (m: Awaited<ReturnType<typeof metadata>>) =>
        m.topics[0]?.partitions.every((p) => p.leader >= 0) &&
        new Set(m.topics[0]?.partitions.map((p) => p.leader)).size === 2;
      const s = await until(settled, (x) => x.tv2.every(spread) && spread(x.txn) && spread(x.offsets));
      expect(s.tv2.every(spread)).toBe(true);
      const leaderOf = new Map(s.tv2[0].topics[0].partitions.map((p) => [p.partition, p.leader]));
      // transaction.version 2 is finalized in the cluster too.
      expect(conns[0].features.get("transaction.version")?.finalized).toBe(2);

      // A transactional id coordinated by one broker, a group coordinated by the other.
      const find = async (keyType: number, keys: string[]) =>
        new Map(
          (await conns[0].send(FindCoordinator, 4, { keyType, coordinatorKeys: keys })).coordinators!.map((
            c,
          ) => [c.key, c.nodeId]),
        );
      const txnOf = await find(1, Array.from({ length: 20 }, (_, i) => `tx2-${i}`));
      const txnId = [...txnOf].find(([, n]) => n === 1)![0];
      const groupOf = await find(0, Array.from({ length: 20 }, (_, i) => `g2-${i}`));
      const groupId = [...groupOf].find(([, n]) => n === 2)![0];
      const coordinator = conns[0];
      const groupCoordinator = conns[1];
      const at = (partition: number) => conns[leaderOf.get(partition)! - 1];

      const init = await coordinator.send(InitProducerId, 5, {
        transactionalId: txnId,
        transactionTimeoutMs: 30000,
        producerId: -1n,
        producerEpoch: -1,
      });
      expect(init.errorCode).toBe(ErrorCode.NONE);
      const pid = init.producerId;
      let epoch = init.producerEpoch;
      const produce = async (partition: number, value: string, sequence: number) => {
        const r = await at(partition).send(Produce, 12, {
          transactionalId: txnId,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{
            name: "tv2",
            partitionData: [{
              index: partition,
              records: buildRecordBatch({
                records: [{ key: null, value: enc.encode(value) }],
                producerId: pid,
                producerEpoch: epoch,
                baseSequence: sequence,
                transactional: true,
              }),
            }],
          }],
        });
        return r.responses![0].partitionResponses![0].errorCode;
      };
      for (let p = 0; p < P; p++) expect(await produce(p, `c${p}`, 0)).toBe(ErrorCode.NONE);
      const oc = await groupCoordinator.send(TxnOffsetCommit, 5, {
        transactionalId: txnId,
        groupId,
        producerId: pid,
        producerEpoch: epoch,
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [{
          name: "tv2",
          partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: "" }],
        }],
      });
      expect(oc.topics![0].partitions![0].errorCode).toBe(ErrorCode.NONE);
      const committed = await coordinator.send(EndTxn, 5, {
        transactionalId: txnId,
        producerId: pid,
        producerEpoch: epoch,
        committed: true,
      });
      expect(committed.errorCode).toBe(ErrorCode.NONE);
      expect(committed.producerEpoch).toBe(epoch! + 1);
      epoch = committed.producerEpoch;
      const fetched = await groupCoordinator.send(OffsetFetch, 8, {
        groups: [{ groupId, memberId: null, memberEpoch: -1, topics: [{ name: "tv2", partitionIndexes: [0] }] }],
        requireStable: true,
      });
      expect(fetched.groups![0].topics![0].partitions![0].committedOffset).toBe(1n);

      // The next transaction at the bumped epoch aborts.
      for (let p = 0; p < P; p++) expect(await produce(p, `a${p}`, 0)).toBe(ErrorCode.NONE);
      const aborted = await coordinator.send(EndTxn, 5, {
        transactionalId: txnId,
        producerId: pid,
        producerEpoch: epoch,
        committed: false,
      });
      expect(aborted.errorCode).toBe(ErrorCode.NONE);
      for (let p = 0; p < P; p++) {
        expect(await readPartition(all, "tv2", p, "read_committed")).toBe(`c${p}\n`);
        expect(await readPartition(all, "tv2", p, "read_uncommitted")).toBe(`c${p}\na${p}\n`);
      }
    },
    90_000,
  );
});
