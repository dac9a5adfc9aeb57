// Issue #14.6: a KIP-848 member must not learn about topics its principal may not describe. Over
// SASL/PLAIN with ACLs: subscribing by name to such a topic is TOPIC_AUTHORIZATION_FAILED (Kafka's
// KafkaApis.handleConsumerGroupHeartbeat), and a regex subscription matches only describable topics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { CreateAcls } from "../../src/protocol/messages/30_create_acls.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import { ConsumerGroupHeartbeat } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

const enc = new TextEncoder();
const T = 2, G = 3, LIT = 3, PRE = 4, READ = 3, ALLOW = 3;
let broker: Broker;
let admin: WireClient;
let alice: WireClient;

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
) => ({
  resourceType,
  resourceName,
  resourcePatternType: patternType,
  principal,
  host: "*",
  operation,
  permissionType: ALLOW,
});

const heartbeat = (c: WireClient, group: string, member: string, names: string[] | null, regex: string | null) =>
  c.send(ConsumerGroupHeartbeat, 1, {
    groupId: group,
    memberId: member,
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30000,
    subscribedTopicNames: names,
    subscribedTopicRegex: regex,
    serverAssignor: null,
    topicPartitions: [],
  });

beforeAll(async () => {
  broker = await testBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "sasl.jaas.config":
      'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="a" user_alice="a";',
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
    "group.initial.rebalance.delay.ms": 0,
  });
  admin = await login(broker.port, "admin", "a");
  const created = await admin.send(CreateTopics, 5, {
    topics: ["secret", "sec-public", "public"].map((name) => ({
      name,
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(created.topics!.every((t) => t.errorCode === 0)).toBe(true);
  const acls = await admin.send(CreateAcls, 3, {
    creations: [
      acl(G, "g", PRE, "User:alice", READ),
      acl(T, "public", LIT, "User:alice", READ),
      acl(T, "sec-public", LIT, "User:alice", READ),
    ],
  });
  expect(acls.results!.every((r) => r.errorCode === 0)).toBe(true);
  alice = await login(broker.port, "alice", "a");
});
afterAll(async () => {
  alice?.close();
  admin?.close();
  await broker.close();
});

describe("ConsumerGroupHeartbeat and topic ACLs", () => {
  test("subscribing by name to a topic the member may not describe is TOPIC_AUTHORIZATION_FAILED", async () => {
    const r = await heartbeat(alice, "g1", "m-1", ["public", "secret"], null);
    expect(r.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(r.assignment ?? null).toBeNull();
    // Nothing of the group was created or changed by it; the describable subscription works.
    const ok = await heartbeat(alice, "g1", "m-1", ["public"], null);
    expect(ok.errorCode).toBe(ErrorCode.NONE);
    const ids = ok.assignment!.topicPartitions!.map((t) => t.topicId);
    expect(ids).toEqual([broker.services.topics.get("public")!.id]);
  });

  test("a regex matches only topics the member may describe", async () => {
    const r = await heartbeat(alice, "g2", "m-2", null, "sec.*");
    expect(r.errorCode).toBe(ErrorCode.NONE);
    const ids = (r.assignment?.topicPartitions ?? []).map((t) => t.topicId);
    expect(ids).toEqual([broker.services.topics.get("sec-public")!.id]);
    expect(ids).not.toContain(broker.services.topics.get("secret")!.id);
  });

  test("a super user's regex still sees every matching topic", async () => {
    const r = await heartbeat(admin, "g3", "m-3", null, "sec.*");
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect((r.assignment?.topicPartitions ?? []).length).toBe(2);
  });
});
