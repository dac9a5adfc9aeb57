// ACLs over the wire: CreateAcls / DescribeAcls / DeleteAcls with Kafka's filters and checks, and
// the authorizer's decisions as principals authenticated with SASL/PLAIN meet them: literal,
// prefixed and wildcard patterns, User:* principals, DENY over ALLOW, implied DESCRIBE, super
// users, allow.everyone.if.no.acl.found, authorized operations, and persistence.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { DescribeAcls } from "../../src/protocol/messages/29_describe_acls.ts";
import { CreateAcls } from "../../src/protocol/messages/30_create_acls.ts";
import { DeleteAcls } from "../../src/protocol/messages/31_delete_acls.ts";
import { DescribeConfigs } from "../../src/protocol/messages/32_describe_configs.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { DescribeCluster } from "../../src/protocol/messages/60_describe_cluster.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const enc = new TextEncoder();
// Kafka's numeric codes: resource TOPIC 2, GROUP 3, CLUSTER 4, TRANSACTIONAL_ID 5; pattern ANY 1,
// MATCH 2, LITERAL 3, PREFIXED 4; operation ANY 1, ALL 2, READ 3, WRITE 4, CREATE 5, DESCRIBE 8;
// permission ANY 1, DENY 2, ALLOW 3.
const T = 2, G = 3, C = 4;
const LIT = 3, PRE = 4;
const READ = 3, WRITE = 4, CREATE = 5, DESCRIBE = 8, ALL = 2;
const DENY = 2, ALLOW = 3;

const JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="a" user_alice="a" user_bob="b" user_carol="c";';
const CONFIG = {
  listeners: "SASL_PLAINTEXT://127.0.0.1:0",
  "sasl.jaas.config": JAAS,
  "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
  "super.users": "User:admin",
};

async function login(port: number, user: string, password: string): Promise<WireClient> {
  const c = await WireClient.connect(port);
  expect((await c.send(SaslHandshake, 1, { mechanism: "PLAIN" })).errorCode).toBe(0);
  expect((await c.send(SaslAuthenticate, 2, { authBytes: enc.encode(`\u0000${user}\u0000${password}`) })).errorCode)
    .toBe(0);
  return c;
}

const acl = (
  resourceType: number,
  resourceName: string,
  patternType: number,
  principal: string,
  operation: number,
  permissionType = ALLOW,
  host = "*",
) => ({ resourceType, resourceName, resourcePatternType: patternType, principal, host, operation, permissionType });
const filter = (
  o: Partial<
    {
      resourceTypeFilter: number;
      resourceNameFilter: string | null;
      patternTypeFilter: number;
      principalFilter: string | null;
      hostFilter: string | null;
      operation: number;
      permissionType: number;
    }
  > = {},
) => ({
  resourceTypeFilter: 1,
  resourceNameFilter: null,
  patternTypeFilter: 1,
  principalFilter: null,
  hostFilter: null,
  operation: 1,
  permissionType: 1,
  ...o,
});

const produce = (c: WireClient, topic: string) =>
  c.send(Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{
      name: topic,
      topicId: ZERO_UUID,
      partitionData: [{
        index: 0,
        records: buildRecordBatch({ records: [{ key: null, value: enc.encode("v"), timestamp: Date.now() }] }),
      }],
    }],
  })
    .then((r) => r.responses![0].partitionResponses![0].errorCode);
const fetch = (c: WireClient, topic: string) =>
  c.send(Fetch, 12, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition: 0,
        currentLeaderEpoch: -1,
        fetchOffset: 0n,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      }],
    }],
    forgottenTopicsData: [],
    rackId: "",
  }).then((r) => r.responses![0].partitions![0].errorCode);
const metadataNames = (c: WireClient, topics: string[] | null = null) =>
  c.send(Metadata, 12, {
    topics: topics === null ? null : topics.map((name) => ({ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name })),
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: true,
  })
    .then((r) => r.topics!.map((t) => [t.name, t.errorCode, t.topicAuthorizedOperations]));

let broker: Broker;
let admin: WireClient;
const dataDir = `/tmp/chronik-acl-${crypto.randomUUID()}`;

beforeAll(async () => {
  broker = await testBroker({ ...CONFIG, dataDir });
  admin = await login(broker.port, "admin", "a");
  const topics = ["orders-eu", "orders-us", "payments", "public"].map((name) => ({
    name,
    numPartitions: 1,
    replicationFactor: 1,
    assignments: [],
    configs: [],
  }));
  const r = await admin.send(CreateTopics, 7, { topics, timeoutMs: 1000, validateOnly: false });
  expect(r.topics!.map((t) => t.errorCode)).toEqual([0, 0, 0, 0]);
});
afterAll(async () => {
  admin.close();
  await broker.close();
  const fs = await import("node:fs/promises");
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe("ACL APIs", () => {
  test("create, describe with filters, delete; Kafka's validation; only ALTER/DESCRIBE on the cluster may", async () => {
    const created = await admin.send(CreateAcls, 3, {
      creations: [
        acl(T, "orders-", PRE, "User:alice", WRITE),
        acl(T, "payments", LIT, "User:alice", READ),
        acl(T, "payments", LIT, "User:bob", ALL),
        acl(T, "payments", LIT, "User:bob", READ, DENY),
        acl(T, "public", LIT, "User:*", READ),
        acl(G, "app-", PRE, "User:alice", READ),
        acl(C, "wrong-name", LIT, "User:alice", CREATE),
        acl(T, "x", LIT, "alice", READ),
        acl(1, "x", LIT, "User:alice", READ),
        acl(T, "x", 2, "User:alice", READ),
      ],
    });
    expect(created.results!.map((r) => r.errorCode)).toEqual([
      0,
      0,
      0,
      0,
      0,
      0,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    const all = await admin.send(DescribeAcls, 3, filter());
    expect(all.errorCode).toBe(0);
    expect(all.resources!.map((r) => `${r.resourceType}:${r.patternType}:${r.resourceName}:${r.acls!.length}`).sort())
      .toEqual(["2:3:payments:3", "2:3:public:1", "2:4:orders-:1", "3:4:app-:1"]);
    // MATCH: every binding that applies to a named resource (literal, wildcard, prefix).
    const match = await admin.send(
      DescribeAcls,
      3,
      filter({ resourceTypeFilter: T, resourceNameFilter: "orders-eu", patternTypeFilter: 2 }),
    );
    expect(match.resources!.map((r) => r.resourceName)).toEqual(["orders-"]);
    const bobs = await admin.send(DescribeAcls, 3, filter({ principalFilter: "User:bob" }));
    expect(bobs.resources![0].acls!.map((a) => [a.operation, a.permissionType]).sort()).toEqual([[ALL, ALLOW], [
      READ,
      DENY,
    ]]);
    // v0 filters only see LITERAL patterns.
    const v0 = await admin.send(DescribeAcls, 0, filter({ resourceTypeFilter: T }));
    expect(v0.resources!.every((r) => r.resourceName !== "orders-")).toBe(true);
    // Others may not read or change ACLs.
    const alice = await login(broker.port, "alice", "a");
    expect((await alice.send(DescribeAcls, 3, filter())).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    expect(
      (await alice.send(CreateAcls, 3, { creations: [acl(T, "*", LIT, "User:alice", ALL)] })).results![0].errorCode,
    ).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    alice.close();
    // Delete returns what it removed; UNKNOWN filters are INVALID_REQUEST.
    await admin.send(CreateAcls, 3, {
      creations: [acl(T, "tmp", LIT, "User:carol", READ), acl(T, "tmp", LIT, "User:carol", WRITE)],
    });
    const del = await admin.send(DeleteAcls, 3, {
      filters: [filter({ resourceNameFilter: "tmp", patternTypeFilter: LIT }), filter({ operation: 0 })],
    });
    expect(del.filterResults!.map((r) => r.errorCode)).toEqual([0, ErrorCode.INVALID_REQUEST]);
    expect(del.filterResults![0].matchingAcls!.map((a) => a.operation).sort()).toEqual([READ, WRITE]);
    expect((await admin.send(DescribeAcls, 3, filter({ resourceNameFilter: "tmp" }))).resources).toEqual([]);
  });

  test("without an authorizer the ACL APIs answer SECURITY_DISABLED", async () => {
    const b = await testBroker();
    const c = await WireClient.connect(b.port);
    try {
      expect((await c.send(DescribeAcls, 3, filter())).errorCode).toBe(ErrorCode.SECURITY_DISABLED);
      expect((await c.send(CreateAcls, 3, { creations: [acl(T, "t", LIT, "User:a", READ)] })).results![0].errorCode)
        .toBe(ErrorCode.SECURITY_DISABLED);
      expect((await c.send(DeleteAcls, 3, { filters: [filter()] })).filterResults![0].errorCode).toBe(
        ErrorCode.SECURITY_DISABLED,
      );
    } finally {
      c.close();
      await b.close();
    }
  });
});

describe("the authorizer", () => {
  test("produce, fetch and metadata follow the ACLs", async () => {
    const alice = await login(broker.port, "alice", "a");
    const bob = await login(broker.port, "bob", "b");
    const carol = await login(broker.port, "carol", "c");
    try {
      // Prefixed WRITE for alice on orders-*; nothing on payments but READ.
      expect(await produce(alice, "orders-eu")).toBe(0);
      expect(await produce(alice, "orders-us")).toBe(0);
      expect(await produce(alice, "payments")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      expect(await fetch(alice, "payments")).toBe(0);
      expect(await fetch(alice, "orders-eu")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED); // WRITE does not imply READ
      // bob: ALL on payments, but DENY READ wins over it.
      expect(await produce(bob, "payments")).toBe(0);
      expect(await fetch(bob, "payments")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      // User:* may read public; carol has nothing else.
      expect(await fetch(carol, "public")).toBe(0);
      expect(await produce(carol, "public")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      // Metadata lists what the principal may DESCRIBE (implied by READ, WRITE...); named others are refused.
      const seen = await metadataNames(alice);
      expect(seen.map(([n]) => n).sort()).toEqual(["orders-eu", "orders-us", "payments", "public"]);
      expect((await metadataNames(carol)).map(([n]) => n)).toEqual(["public"]);
      expect(await metadataNames(carol, ["payments", "nope"])).toEqual([[
        "payments",
        ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        -2147483648,
      ], ["nope", ErrorCode.TOPIC_AUTHORIZATION_FAILED, -2147483648]]);
      // Authorized operations: READ (3) and DESCRIBE (8) for carol on public.
      const [, , ops] = (await metadataNames(carol, ["public"]))[0];
      expect(ops).toBe((1 << READ) | (1 << DESCRIBE));
      // The super user is allowed everything.
      expect(await fetch(admin, "orders-eu")).toBe(0);
      // Topic admin and configs need their own operations.
      expect(
        (await alice.send(CreateTopics, 7, {
          topics: [{ name: "orders-new", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 1000,
          validateOnly: false,
        })).topics![0].errorCode,
      ).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      expect(
        (await alice.send(DeleteTopics, 6, {
          topics: [{ name: "payments", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
          topicNames: [],
          timeoutMs: 1000,
        })).responses![0].errorCode,
      ).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      expect(
        (await alice.send(DescribeConfigs, 4, {
          resources: [{ resourceType: 2, resourceName: "payments", configurationKeys: null }],
          includeSynonyms: false,
          includeDocumentation: false,
        })).results![0].errorCode,
      ).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      expect(
        (await alice.send(DescribeConfigs, 4, {
          resources: [{ resourceType: 4, resourceName: "0", configurationKeys: null }],
          includeSynonyms: false,
          includeDocumentation: false,
        })).results![0].errorCode,
      ).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      // Groups: alice may READ app-* groups only.
      const join = (c: WireClient, groupId: string) =>
        c.send(JoinGroup, 9, {
          groupId,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId: "",
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: new Uint8Array(0) }],
          reason: null,
        }).then((r) => r.errorCode);
      expect(await join(alice, "app-1")).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      expect(await join(alice, "other")).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
      // Idempotent producers: WRITE on some topic is enough (KIP-679); carol has none.
      expect(
        (await alice.send(InitProducerId, 4, initProducerIdRequest(null, 1000))).errorCode,
      ).toBe(0);
      expect(
        (await carol.send(InitProducerId, 4, initProducerIdRequest(null, 1000))).errorCode,
      ).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      expect(
        (await alice.send(InitProducerId, 4, initProducerIdRequest("tx", 1000))).errorCode,
      ).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      // Cluster authorized operations.
      const dc = await carol.send(DescribeCluster, 1, {
        includeClusterAuthorizedOperations: true,
        includeFencedBrokers: false,
        endpointType: 1,
      });
      expect(dc.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const dca = await admin.send(DescribeCluster, 1, {
        includeClusterAuthorizedOperations: true,
        includeFencedBrokers: false,
        endpointType: 1,
      });
      expect(dca.clusterAuthorizedOperations! & (1 << 7)).not.toBe(0);
    } finally {
      for (const c of [alice, bob, carol]) c.close();
    }
  });

  test("allow.everyone.if.no.acl.found lets through what no ACL mentions", async () => {
    const b = await testBroker({ ...CONFIG, "allow.everyone.if.no.acl.found": true });
    try {
      const a = await login(b.port, "admin", "a");
      await a.send(CreateTopics, 7, {
        topics: ["open", "closed"].map((name) => ({
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        })),
        timeoutMs: 1000,
        validateOnly: false,
      });
      await a.send(CreateAcls, 3, { creations: [acl(T, "closed", LIT, "User:admin", READ)] });
      const carol = await login(b.port, "carol", "c");
      expect(await produce(carol, "open")).toBe(0);
      expect(await fetch(carol, "closed")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      a.close();
      carol.close();
    } finally {
      await b.close();
    }
  });

  test("ACLs are kept across a restart", async () => {
    await broker.close();
    broker = await testBroker({ ...CONFIG, dataDir });
    admin.close();
    admin = await login(broker.port, "admin", "a");
    const all = await admin.send(DescribeAcls, 3, filter());
    expect(all.resources!.length).toBe(4);
    const alice = await login(broker.port, "alice", "a");
    expect(await produce(alice, "orders-eu")).toBe(0);
    expect(await produce(alice, "payments")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    alice.close();
  });
});
