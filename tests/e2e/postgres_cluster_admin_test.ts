// Admin state shared by three brokers (Bun, Deno, Node) on one PostgreSQL, with an ACL authorizer on SASL_PLAINTEXT
// listeners (PLAIN for admin and alice, SCRAM-SHA-256 for users created at run time): a change through one broker
// takes effect at the others without a restart (each polls the stored revision every broker.heartbeat.interval.ms),
// and no broker's save reverts another's (compare-and-set on the revision, the change applied again on a conflict).
// 1. CreateAcls (kafkajs admin) through broker 1: alice's Metadata of the topic, TOPIC_AUTHORIZATION_FAILED at
//    brokers 2 and 3 before, is allowed there after, and her kafkajs producer writes to partitions led by all three;
//    DeleteAcls through broker 1: denied again at 2 and 3.
// 2. Fifteen CreateAcls at the same moment, five through each broker: all fifteen survive, everywhere.
// 3. A SCRAM user created at broker 1 (AlterUserScramCredentials) authenticates at broker 2 (kcat).
// 4. A client quota set at broker 1 is described and applied (a produce throttled) at broker 3; a dynamic
//    cluster-wide default (IncrementalAlterConfigs, broker name "") set at 1 is described at 2 as
//    DYNAMIC_DEFAULT_BROKER_CONFIG (kafkajs describeConfigs).
// 5. A fourth broker started afterwards sees all of it.
import { describe, expect, test } from "bun:test";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from "kafkajs";
import { bunRuntime } from "../../adapters/bun.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { saltedPassword } from "../../src/broker/auth/sasl.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { CreateAcls } from "../../src/protocol/messages/30_create_acls.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { DescribeClientQuotas } from "../../src/protocol/messages/48_describe_client_quotas.ts";
import { AlterClientQuotas } from "../../src/protocol/messages/49_alter_client_quotas.ts";
import { AlterUserScramCredentials } from "../../src/protocol/messages/51_alter_user_scram_credentials.ts";
import type { BrokerProcess } from "./harness.ts";
import { startBrokerProcess } from "./harness.ts";
import { kafkajsAllowAcl } from "../helpers/acls.ts";
import { kcatRun, saslKcat, until } from "../helpers/kcat.ts";
import { FAST_CLUSTER, keepLogsOnFailure, startCluster } from "../helpers/pg_cluster.ts";
import { openAs, pgClusterSuite, saslAclFlags } from "../helpers/pg_cluster_suite.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const FLAGS = saslAclFlags("PLAIN,OAUTHBEARER,SCRAM-SHA-256");
const TOPIC = "adm";
const P = 3;

const { brokers, conns, database } = pgClusterSuite();

const open = (b: BrokerProcess, user: string) => openAs(b, user, `adm-${user}`, conns);

const kafka = (bs: readonly BrokerProcess[], user: string) =>
  new Kafka({
    brokers: bs.map((b) => `127.0.0.1:${b.port}`),
    clientId: `adm-${user}`,
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: "plain", username: user, password: `${user}-secret` },
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });

const allow = (resourceName: string, operation: number, resourceType: number = AclResourceTypes.TOPIC) =>
  kafkajsAllowAcl("User:alice", operation, resourceType, resourceName);

/** alice's Metadata error for the topic at one broker (her connection to it). */
async function topicError(c: KafkaConnection): Promise<number> {
  const r = await c.send(Metadata, 12, {
    topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: TOPIC }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  return r.topics![0].errorCode!;
}

/** Group ACL names (alice's) that DescribeAcls at a broker lists. */
async function groupAcls(b: BrokerProcess): Promise<string[]> {
  const admin = kafka([b], "admin").admin();
  await admin.connect();
  try {
    const r = await admin.describeAcls({
      resourceType: AclResourceTypes.GROUP,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    return r.resources.map((x) => x.resourceName).sort();
  } finally {
    await admin.disconnect();
  }
}

describe("admin state shared by the brokers of a cluster", () => {
  test(
    "ACLs, SCRAM users, quotas and cluster-wide configs changed through one broker hold at every broker, concurrent changes all survive, a later broker sees them",
    async () => {
      const url = database("cluster_admin");
      await startCluster(url, ["bun", "deno", "node"], brokers, FLAGS, {}, saslKcat("admin"));
      await keepLogsOnFailure(brokers, async () => {
        const [b1, b2, b3] = brokers;
        const admin1 = kafka([b1], "admin").admin();
        await admin1.connect();
        await admin1.createTopics({ topics: [{ topic: TOPIC, numPartitions: P }] });

        // 1. CreateAcls through broker 1, enforced at 2 and 3; DeleteAcls likewise.
        const alice = await Promise.all([b2, b3].map((b) => open(b, "alice")));
        for (const c of alice) expect(await topicError(c)).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        const topicAcls = [allow(TOPIC, AclOperationTypes.DESCRIBE), allow(TOPIC, AclOperationTypes.WRITE)];
        await admin1.createAcls({ acl: topicAcls });
        for (const c of alice) {
          expect(await until(() => topicError(c), (e) => e === ErrorCode.NONE)).toBe(ErrorCode.NONE);
        }
        const m = await until(
          () => admin1.fetchTopicMetadata({ topics: [TOPIC] }),
          (m) =>
            m.topics[0].partitions.every((p) => p.leader >= 1) &&
            new Set(m.topics[0].partitions.map((p) => p.leader)).size === 3,
        );
        expect(new Set(m.topics[0].partitions.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));
        const producer = kafka([b2, b3], "alice").producer();
        await producer.connect();
        const sent = await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: Array.from({ length: P }, (_, p) => ({ partition: p, value: `v${p}` })),
        });
        expect(sent.map((r) => r.errorCode)).toEqual(sent.map(() => ErrorCode.NONE));
        await producer.disconnect();
        await admin1.deleteAcls({
          filters: [{
            resourceType: AclResourceTypes.TOPIC,
            resourceName: TOPIC,
            resourcePatternType: ResourcePatternTypes.LITERAL,
            principal: "User:alice",
            host: "*",
            operation: AclOperationTypes.ANY,
            permissionType: AclPermissionTypes.ANY,
          }],
        });
        for (const c of alice) {
          expect(await until(() => topicError(c), (e) => e !== ErrorCode.NONE)).toBe(
            ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          );
        }

        // 2. Fifteen CreateAcls at the same moment, five through each broker: none reverts another.
        const supers = await Promise.all(brokers.map((b) => open(b, "admin")));
        const names = brokers.flatMap((_, i) => Array.from({ length: 5 }, (_, j) => `g${i + 1}-${j}`));
        await Promise.all(supers.flatMap((c, i) =>
          Array.from({ length: 5 }, async (_, j) => {
            const r = await c.send(CreateAcls, 3, {
              creations: [allow(`g${i + 1}-${j}`, AclOperationTypes.READ, AclResourceTypes.GROUP)],
            });
            expect(r.results!.map((x) => x.errorCode)).toEqual([ErrorCode.NONE]);
          })
        ));
        for (const b of brokers) {
          expect(await until(() => groupAcls(b), (l) => l.length === names.length)).toEqual([...names].sort());
        }

        // 3. A SCRAM user created at broker 1 logs in at broker 2.
        const salt = new TextEncoder().encode("cluster-admin-salt");
        const scram = await supers[0].send(AlterUserScramCredentials, 0, {
          deletions: [],
          upsertions: [{
            name: "carol",
            mechanism: 1,
            iterations: 4096,
            salt,
            saltedPassword: await saltedPassword("SCRAM-SHA-256", "carol-secret", salt, 4096),
          }],
        });
        expect(scram.results!.map((r) => r.errorCode)).toEqual([ErrorCode.NONE]);
        const login = (b: BrokerProcess) =>
          kcatRun(["-b", `127.0.0.1:${b.port}`, ...saslKcat("carol", "SCRAM-SHA-256"), "-L", "-J", "-m", "5"]);
        expect((await until(() => login(b2), (r) => r.code === 0)).code).toBe(0);

        // 4. A client quota set at 1 is described at 3; a cluster-wide dynamic default set at 1 is described at 2.
        const quota = await supers[0].send(AlterClientQuotas, 1, {
          entries: [{
            entity: [{ entityType: "client-id", entityName: "slow" }],
            ops: [{ key: "producer_byte_rate", value: 1024, remove: false }],
          }],
          validateOnly: false,
        });
        expect(quota.entries!.map((e) => e.errorCode)).toEqual([ErrorCode.NONE]);
        const quotasAt = async (c: KafkaConnection) =>
          (await c.send(DescribeClientQuotas, 1, {
            components: [{ entityType: "client-id", matchType: 0, match: "slow" }],
            strict: false,
          })).entries;
        expect(await until(() => quotasAt(supers[2]), (e) => (e?.length ?? 0) > 0)).toEqual([{
          entity: [{ entityType: "client-id", entityName: "slow" }],
          values: [{ key: "producer_byte_rate", value: 1024 }],
        }]);
        // It applies there: ~40 KB produced by client id "slow" to the partition broker 3 leads is throttled.
        const slow = await KafkaConnection.open(bunRuntime, "127.0.0.1", b3.port, {
          clientId: "slow",
          sasl: { mechanism: "PLAIN", username: "admin", password: "admin-secret" },
        });
        conns.push(slow);
        const led = m.topics[0].partitions.find((p) => p.leader === 3)!.partitionId;
        const produced = await slow.send(Produce, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{
            name: TOPIC,
            partitionData: [{
              index: led,
              records: buildRecordBatch({ records: [{ key: null, value: new Uint8Array(40_000).fill(7) }] }),
            }],
          }],
        });
        expect(produced.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
        expect(produced.throttleTimeMs).toBeGreaterThan(0);
        const altered = await supers[0].send(IncrementalAlterConfigs, 1, {
          resources: [{
            resourceType: 4,
            resourceName: "",
            configs: [{ name: "log.retention.ms", configOperation: 0, value: "7654321" }],
          }],
          validateOnly: false,
        });
        expect(altered.responses!.map((r) => r.errorCode)).toEqual([ErrorCode.NONE]);
        const retentionAt = async (b: BrokerProcess, id: number) => {
          const admin = kafka([b], "admin").admin();
          await admin.connect();
          try {
            const r = await admin.describeConfigs({
              resources: [{ type: 4, name: String(id), configNames: ["log.retention.ms"] }],
              includeSynonyms: false,
            });
            const e = r.resources[0].configEntries[0];
            return { value: e.configValue, source: e.configSource };
          } finally {
            await admin.disconnect();
          }
        };
        expect(await until(() => retentionAt(b2, 2), (v) => v.value === "7654321")).toEqual({
          value: "7654321",
          source: 3, // DYNAMIC_DEFAULT_BROKER_CONFIG
        });
        await admin1.disconnect();

        // 5. A broker started afterwards sees all of it at start.
        const b4 = await startBrokerProcess(
          "bun",
          ["--storage", url, ...FAST_CLUSTER, ...FLAGS, "--node-id", "4"],
          {},
        );
        brokers.push(b4);
        expect(await groupAcls(b4)).toEqual([...names].sort());
        expect((await login(b4)).code).toBe(0);
        expect(await quotasAt(await open(b4, "admin"))).toHaveLength(1);
        expect(await retentionAt(b4, 4)).toEqual({ value: "7654321", source: 3 });
        const alice4 = await open(b4, "alice");
        expect(await topicError(alice4)).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      });
    },
    120_000,
  );
});
