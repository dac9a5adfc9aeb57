// Transactions across three brokers (Bun, Node, Bun) on one PostgreSQL with an ACL authorizer
// (StandardAuthorizer, super.users=User:broker;User:admin) on SASL_PLAINTEXT listeners (PLAIN and OAUTHBEARER):
// the brokers talk to each other (WriteTxnMarkers, AddPartitionsToTxn verifyOnly, TxnOffsetCommit) as User:broker,
// logged in with OAUTHBEARER (sasl.mechanism.inter.broker.protocol; an unsecured token minted from the JAAS
// unsecuredLoginStringClaim_sub), whose CLUSTER_ACTION those inter-broker APIs need. admin (PLAIN, super user)
// sets up. alice (PLAIN), allowed her topic, transactional id and group only:
// 1. her kafkajs transaction over partitions led by all three brokers, with offsets for a group another broker
//    may coordinate, commits (read_committed sees it) and the next aborts (read_committed never sees it);
// 2. her WriteTxnMarkers and AddPartitionsToTxn v4 (verifyOnly) get CLUSTER_AUTHORIZATION_FAILED.
// 3. A fenced producer (its transactional id re-initialized) sending TxnOffsetCommit to a group coordinator that
//    does not coordinate its transaction: the group coordinator verifies with the transaction coordinator and
//    answers INVALID_PRODUCER_EPOCH (v3) / PRODUCER_FENCED (v5, transactions v2), staging nothing; the current
//    producer's offsets, once the group is added, commit with its transaction.
import { describe, expect, test } from "bun:test";
import { AclOperationTypes, AclResourceTypes, Kafka, logLevel } from "kafkajs";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { AddOffsetsToTxn } from "../../src/protocol/messages/25_add_offsets_to_txn.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { WriteTxnMarkers } from "../../src/protocol/messages/27_write_txn_markers.ts";
import { TxnOffsetCommit } from "../../src/protocol/messages/28_txn_offset_commit.ts";
import { CreateAcls } from "../../src/protocol/messages/30_create_acls.ts";
import { DescribeAcls } from "../../src/protocol/messages/29_describe_acls.ts";
import type { BrokerProcess } from "./harness.ts";
import { kafkajsAllowAcl } from "../helpers/acls.ts";
import { kcat, saslKcat, until } from "../helpers/kcat.ts";
import { commitThenAbort, keepLogsOnFailure, readPartition, startCluster } from "../helpers/pg_cluster.ts";
import { openAs, pgClusterSuite, saslAclFlags } from "../helpers/pg_cluster_suite.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const P = 6;

const { brokers, conns, database } = pgClusterSuite();

const open = (b: BrokerProcess, user: string) => openAs(b, user, `acl-${user}`, conns);

describe("transactions across three brokers with an ACL authorizer", () => {
  test(
    "inter-broker requests with OAUTHBEARER as the super user: a transaction over three leaders commits; alice gets CLUSTER_AUTHORIZATION_FAILED; a fenced producer's TxnOffsetCommit at a remote group coordinator is refused",
    async () => {
      const url = database("coord_acl");
      await startCluster(
        url,
        ["bun", "node", "bun"],
        brokers,
        [
          ...saslAclFlags("PLAIN,OAUTHBEARER"),
          "-o",
          "offsets.topic.num.partitions=6",
          "-o",
          "transaction.state.log.num.partitions=6",
        ],
        {},
        saslKcat("admin"),
      );
      await keepLogsOnFailure(brokers, async () => {
        const all = brokers.map((b) => `127.0.0.1:${b.port}`);
        const kafka = (user: string) =>
          new Kafka({
            brokers: all,
            clientId: `acl-${user}`,
            logLevel: logLevel.NOTHING,
            sasl: { mechanism: "plain", username: user, password: `${user}-secret` },
            retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 1000 },
          });
        const admin = kafka("admin").admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: "acl-tx", numPartitions: P }] });
        const allow = (resourceType: number, resourceName: string, operation: number) =>
          kafkajsAllowAcl("User:alice", operation, resourceType, resourceName);
        const acls = [
          allow(AclResourceTypes.TOPIC, "acl-tx", AclOperationTypes.WRITE),
          allow(AclResourceTypes.TOPIC, "acl-tx", AclOperationTypes.READ),
          allow(AclResourceTypes.TRANSACTIONAL_ID, "alice-tx", AclOperationTypes.WRITE),
          allow(AclResourceTypes.GROUP, "alice-group", AclOperationTypes.READ),
        ];
        await admin.disconnect();
        // Created through broker 1 only: the others adopt the stored ACLs within broker.heartbeat.interval.ms.
        const supers = await Promise.all(brokers.map((b) => open(b, "admin")));
        const r = await supers[0].send(CreateAcls, 3, { creations: acls });
        expect(r.results!.map((x) => x.errorCode)).toEqual(acls.map(() => ErrorCode.NONE));
        for (const c of supers) {
          const described = await until(
            () =>
              c.send(DescribeAcls, 3, {
                resourceTypeFilter: 1, // ANY
                resourceNameFilter: null,
                patternTypeFilter: 1, // ANY
                principalFilter: "User:alice",
                hostFilter: null,
                operation: 1, // ANY
                permissionType: 1, // ANY
              }),
            (d) => (d.resources ?? []).flatMap((x) => x.acls).length === acls.length,
          );
          expect(described.resources!.flatMap((x) => x.acls).length).toBe(acls.length);
        }
        const meta = await until(
          async () => JSON.parse(await kcat(["-b", all[0], ...saslKcat("admin"), "-L", "-J", "-t", "acl-tx"])),
          (m: { topics: { partitions: { leader: number }[] }[] }) =>
            m.topics[0]?.partitions.every((p) => p.leader >= 0) &&
            new Set(m.topics[0]?.partitions.map((p) => p.leader)).size === 3,
        );
        expect(new Set(meta.topics[0].partitions.map((p: { leader: number }) => p.leader)).size).toBe(3);

        // 1. alice's transactions: markers and offsets cross brokers as User:broker.
        const producer = kafka("alice").producer({
          transactionalId: "alice-tx",
          idempotent: true,
          maxInFlightRequests: 1,
        });
        await producer.connect();
        await commitThenAbort(producer, "acl-tx", P, { groupId: "alice-group", partition: 0, offset: "1" });
        await producer.disconnect();
        for (let p = 0; p < P; p++) {
          expect(await readPartition(all, "acl-tx", p, "read_committed", saslKcat("alice"))).toBe(`c${p}\n`);
          expect(await readPartition(all, "acl-tx", p, "read_uncommitted", saslKcat("alice"))).toBe(`c${p}\na${p}\n`);
        }
        const offsets = await kafka("alice").admin();
        await offsets.connect();
        const committed = await offsets.fetchOffsets({ groupId: "alice-group", topics: ["acl-tx"] });
        await offsets.disconnect();
        expect(committed[0].partitions.find((p) => p.partition === 0)?.offset).toBe("1");

        // 2. alice is no broker: the inter-broker APIs need CLUSTER_ACTION on the cluster.
        const alice = await open(brokers[0], "alice");
        const markers = await alice.send(WriteTxnMarkers, 1, {
          markers: [{
            producerId: 1n,
            producerEpoch: 0,
            transactionResult: true,
            coordinatorEpoch: 0,
            topics: [{ name: "acl-tx", partitionIndexes: [0, 1] }],
          }],
        });
        expect(markers.markers![0].topics![0].partitions!.map((p) => p.errorCode)).toEqual([
          ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        ]);
        const verify = await alice.send(AddPartitionsToTxn, 4, {
          transactions: [{
            transactionalId: "alice-tx",
            producerId: 1n,
            producerEpoch: 0,
            verifyOnly: true,
            topics: [{ name: "acl-tx", partitions: [0] }],
          }],
        });
        expect(verify.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

        // 3. A fenced producer at a group coordinator that does not coordinate its transaction.
        const find = async (keyType: number, prefix: string) =>
          (await supers[0].send(FindCoordinator, 4, {
            keyType,
            coordinatorKeys: Array.from({ length: 30 }, (_, i) => `${prefix}${i}`),
          })).coordinators!.filter((c) => c.errorCode === ErrorCode.NONE);
        const txns = await find(1, "fence-tx-");
        const groups = await find(0, "fence-g-");
        const tx = txns[0];
        const group = groups.find((g) => g.nodeId !== tx.nodeId)!;
        const coordinator = supers[tx.nodeId! - 1];
        const groupCoordinator = supers[group.nodeId! - 1];
        const init = () =>
          coordinator.send(InitProducerId, 4, {
            transactionalId: tx.key!,
            transactionTimeoutMs: 30000,
            producerId: -1n,
            producerEpoch: -1,
          });
        const first = await init();
        expect(first.errorCode).toBe(ErrorCode.NONE);
        const addOffsets = (epoch: number) =>
          coordinator.send(AddOffsetsToTxn, 3, {
            transactionalId: tx.key!,
            producerId: first.producerId!,
            producerEpoch: epoch,
            groupId: group.key!,
          });
        expect((await addOffsets(first.producerEpoch!)).errorCode).toBe(ErrorCode.NONE);
        // The next incarnation fences the first (its open transaction aborted).
        const second = await until(init, (r) => r.errorCode === ErrorCode.NONE);
        expect(second.producerId).toBe(first.producerId);
        expect(second.producerEpoch).toBe(first.producerEpoch! + 1);
        const commitOffset = async (version: number, epoch: number, offset: bigint) =>
          (await groupCoordinator.send(TxnOffsetCommit, version, {
            transactionalId: tx.key!,
            groupId: group.key!,
            producerId: first.producerId!,
            producerEpoch: epoch,
            generationId: -1,
            memberId: "",
            groupInstanceId: null,
            topics: [{
              name: "acl-tx",
              partitions: [{
                partitionIndex: 0,
                committedOffset: offset,
                committedLeaderEpoch: -1,
                committedMetadata: "",
              }],
            }],
          })).topics![0].partitions![0].errorCode;
        expect(await commitOffset(3, first.producerEpoch!, 66n)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
        expect(await commitOffset(5, first.producerEpoch!, 66n)).toBe(ErrorCode.PRODUCER_FENCED);
        // The current producer, before AddOffsetsToTxn: not in its transaction.
        expect(await commitOffset(3, second.producerEpoch!, 2n)).toBe(ErrorCode.INVALID_TXN_STATE);
        expect((await addOffsets(second.producerEpoch!)).errorCode).toBe(ErrorCode.NONE);
        expect(await commitOffset(3, second.producerEpoch!, 2n)).toBe(ErrorCode.NONE);
        const ended = await coordinator.send(EndTxn, 3, {
          transactionalId: tx.key!,
          producerId: first.producerId!,
          producerEpoch: second.producerEpoch!,
          committed: true,
        });
        expect(ended.errorCode).toBe(ErrorCode.NONE);
        const fetched = await until(
          () =>
            groupCoordinator.send(OffsetFetch, 8, {
              groups: [{
                groupId: group.key!,
                memberId: null,
                memberEpoch: -1,
                topics: [{ name: "acl-tx", partitionIndexes: [0] }],
              }],
              requireStable: true,
            }),
          (r) => r.groups![0].topics![0].partitions![0].committedOffset === 2n,
        );
        // Only the current producer's offset: the fenced one staged nothing.
        expect(fetched.groups![0].topics![0].partitions![0].committedOffset).toBe(2n);
      });
    },
    120_000,
  );
});
