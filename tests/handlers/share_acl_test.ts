// Share groups (KIP-932) under ACLs (SASL/PLAIN, StandardAuthorizer semantics), with Kafka 4.1's
// KafkaApis checks and error codes: ShareGroupHeartbeat needs READ on the group and DESCRIBE on the
// subscribed topics; ShareFetch and ShareAcknowledge READ on the group (top-level
// GROUP_AUTHORIZATION_FAILED) and READ on each topic (per partition TOPIC_AUTHORIZATION_FAILED);
// ShareGroupDescribe and DescribeShareGroupOffsets DESCRIBE on the group (implied by READ);
// DeleteShareGroupOffsets and DeleteGroups DELETE on the group.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { CreateAcls } from "../../src/protocol/messages/30_create_acls.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import { DeleteGroups } from "../../src/protocol/messages/42_delete_groups.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { ShareGroupDescribe } from "../../src/protocol/messages/77_share_group_describe.ts";
import { DescribeShareGroupOffsets } from "../../src/protocol/messages/90_describe_share_group_offsets.ts";
import { DeleteShareGroupOffsets } from "../../src/protocol/messages/92_delete_share_group_offsets.ts";
import { testBroker } from "../helpers/broker.ts";
import {
  ACCEPT,
  ack,
  acquired,
  enableShare,
  produceValues,
  shareAck,
  shareFetch,
  shareHeartbeat,
} from "../helpers/share.ts";
import { WireClient } from "../helpers/wire_client.ts";

const enc = new TextEncoder();
const TOPIC = 2, GROUP = 3, LITERAL = 3, READ = 3, DESCRIBE = 8, ALLOW = 3;
let broker: Broker;
let admin: WireClient;
let alice: WireClient;
let topicId = "";

async function login(port: number, user: string, password: string): Promise<WireClient> {
  const c = await WireClient.connect(port);
  expect((await c.send(SaslHandshake, 1, { mechanism: "PLAIN" })).errorCode).toBe(0);
  expect((await c.send(SaslAuthenticate, 2, { authBytes: enc.encode(`\u0000${user}\u0000${password}`) })).errorCode)
    .toBe(0);
  return c;
}

async function allow(resourceType: number, resourceName: string, operation: number) {
  const r = await admin.send(CreateAcls, 3, {
    creations: [{
      resourceType,
      resourceName,
      resourcePatternType: LITERAL,
      principal: "User:alice",
      host: "*",
      operation,
      permissionType: ALLOW,
    }],
  });
  expect(r.results![0].errorCode).toBe(ErrorCode.NONE);
}

beforeAll(async () => {
  broker = await testBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "sasl.jaas.config":
      'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="a" user_alice="a";',
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
  });
  admin = await login(broker.port, "admin", "a");
  alice = await login(broker.port, "alice", "a");
  expect((await enableShare(admin)).errorCode).toBe(ErrorCode.NONE);
  const t = await admin.send(CreateTopics, 7, {
    topics: [{ name: "acl-q", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  topicId = t.topics![0].topicId!;
  await produceValues(admin, "acl-q", ["a", "b", "c"]);
  await admin.send(IncrementalAlterConfigs, 1, {
    resources: [{
      resourceType: 32,
      resourceName: "sg-acl",
      configs: [{ name: "share.auto.offset.reset", configOperation: 0, value: "earliest" }],
    }],
    validateOnly: false,
  });
});
afterAll(async () => {
  admin.close();
  alice.close();
  await broker.close();
});

const describeGroup = async () =>
  (await alice.send(ShareGroupDescribe, 1, { groupIds: ["sg-acl"], includeAuthorizedOperations: false })).groups![0]
    .errorCode;
const describeOffsets = async () =>
  (await alice.send(DescribeShareGroupOffsets, 0, { groups: [{ groupId: "sg-acl", topics: null }] })).groups![0];

test("share APIs answer Kafka's authorization errors, group first, then topics", async () => {
  // Nothing allowed: every share API is refused on the group.
  expect((await shareHeartbeat(alice, "sg-acl", "M", 0, ["acl-q"])).errorCode).toBe(
    ErrorCode.GROUP_AUTHORIZATION_FAILED,
  );
  expect((await shareFetch(alice, "sg-acl", "M", 0, topicId)).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  expect((await shareAck(alice, "sg-acl", "M", 1, topicId, [ack(0, 0, ACCEPT)])).errorCode).toBe(
    ErrorCode.GROUP_AUTHORIZATION_FAILED,
  );
  expect(await describeGroup()).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  expect((await describeOffsets()).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);

  // READ on the group: the subscribed topic still needs DESCRIBE.
  await allow(GROUP, "sg-acl", READ);
  expect((await shareHeartbeat(alice, "sg-acl", "M", 0, ["acl-q"])).errorCode).toBe(
    ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  );
  await allow(TOPIC, "acl-q", DESCRIBE);
  expect((await shareHeartbeat(alice, "sg-acl", "M", 0, ["acl-q"])).errorCode).toBe(ErrorCode.NONE);
  // READ implies DESCRIBE on the group.
  expect(await describeGroup()).toBe(ErrorCode.NONE);
  expect((await describeOffsets()).errorCode).toBe(ErrorCode.NONE);

  // Fetching needs READ on the topic: refused per partition, the request itself succeeds.
  const denied = await shareFetch(alice, "sg-acl", "M", 0, topicId);
  expect(denied.errorCode).toBe(ErrorCode.NONE);
  expect(denied.responses![0].partitions![0].errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  expect(acquired(denied)).toEqual([]);
  await allow(TOPIC, "acl-q", READ);
  expect(acquired(await shareFetch(alice, "sg-acl", "M", 1, topicId))).toEqual(["0-2x1"]);
  const acked = await shareAck(alice, "sg-acl", "M", 2, topicId, [ack(0, 2, ACCEPT)]);
  expect(acked.errorCode).toBe(ErrorCode.NONE);
  expect(acked.responses![0].partitions![0].errorCode).toBe(ErrorCode.NONE);

  // Deleting needs DELETE on the group (READ does not imply it).
  expect((await shareHeartbeat(alice, "sg-acl", "M", -1, null)).errorCode).toBe(ErrorCode.NONE);
  const del = await alice.send(DeleteShareGroupOffsets, 0, { groupId: "sg-acl", topics: [{ topicName: "acl-q" }] });
  expect(del.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const dg = await alice.send(DeleteGroups, 2, { groupsNames: ["sg-acl"] });
  expect(dg.results![0].errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
});
