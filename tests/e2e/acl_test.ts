// ACLs with real clients: kafkajs' admin client creates, describes and deletes ACLs as a super user
// over SASL/SCRAM; a kafkajs producer and consumer of another user are allowed or refused by them;
// kcat (librdkafka) sees the same refusals.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { kafkajsValues } from "../helpers/consume.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker;
let addr: string;
const kafka = (username: string, password: string) =>
  new Kafka({
    brokers: [addr],
    clientId: "acl-e2e",
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 50 },
    sasl: { mechanism: "scram-sha-256", username, password },
  });

beforeAll(async () => {
  broker = await testBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "chronik.add.scram": [
      "SCRAM-SHA-256=[name=admin,password=admin-secret]",
      "SCRAM-SHA-256=[name=alice,password=alice-secret]",
    ],
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
    "group.initial.rebalance.delay.ms": 0,
  });
  addr = `127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker.close();
});

describe("ACLs with kafkajs and kcat", () => {
  test("admin manages ACLs; alice may write orders-* and read with her group, nothing else", async () => {
    const admin = kafka("admin", "admin-secret").admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: "orders-eu", numPartitions: 1 }, { topic: "secret", numPartitions: 1 }],
    });
    const allow = (resourceType: number, resourceName: string, resourcePatternType: number, operation: number) => ({
      resourceType,
      resourceName,
      resourcePatternType,
      principal: "User:alice",
      host: "*",
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await admin.createAcls({
      acl: [
        allow(AclResourceTypes.TOPIC, "orders-", ResourcePatternTypes.PREFIXED, AclOperationTypes.WRITE),
        allow(AclResourceTypes.TOPIC, "orders-", ResourcePatternTypes.PREFIXED, AclOperationTypes.READ),
        allow(AclResourceTypes.GROUP, "alice-app", ResourcePatternTypes.LITERAL, AclOperationTypes.READ),
      ],
    });
    const described = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    expect(described.resources.map((r) => `${r.resourceName}:${r.acls.length}`).sort()).toEqual([
      "alice-app:1",
      "orders-:2",
    ]);

    const alice = kafka("alice", "alice-secret");
    const producer = alice.producer();
    await producer.connect();
    await producer.send({ topic: "orders-eu", messages: [{ value: "o1" }, { value: "o2" }] });
    const refused = await producer.send({ topic: "secret", messages: [{ value: "x" }] }).catch((e) => e);
    expect(String(refused?.type ?? refused?.cause?.type ?? refused)).toContain("TOPIC_AUTHORIZATION_FAILED");
    await producer.disconnect();

    expect(await kafkajsValues(alice, "orders-eu", "alice-app", 2)).toEqual(["o1", "o2"]);

    const other = alice.consumer({ groupId: "not-hers", maxWaitTimeInMs: 100, retry: { retries: 0 } });
    await other.connect();
    await other.subscribe({ topic: "orders-eu", fromBeginning: true });
    const crashed = new Promise<unknown>((resolve) => other.on(other.events.CRASH, (e) => resolve(e.payload.error)));
    await other.run({ eachMessage: async () => {} });
    const err = await Promise.race([crashed, Bun.sleep(10_000).then(() => null)]);
    // FindCoordinator already needs DESCRIBE on the group: kafkajs gives up finding a coordinator.
    expect((err as { name?: string } | null)?.name).toBe("KafkaJSGroupCoordinatorNotFound");
    expect(broker.services.groups.group("not-hers")).toBeUndefined();
    await other.disconnect().catch(() => {});

    // librdkafka: reading secret is refused, orders-eu works.
    const kcat = (topic: string) =>
      Bun.spawn([
        "kcat",
        "-b",
        addr,
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-256",
        "-X",
        "sasl.username=alice",
        "-X",
        "sasl.password=alice-secret",
        "-C",
        "-t",
        topic,
        "-p",
        "0",
        "-e",
        "-f",
        "%s\n",
      ], { stdout: "pipe", stderr: "pipe" });
    const ok = kcat("orders-eu");
    expect((await new Response(ok.stdout).text()).trim().split("\n")).toEqual(["o1", "o2"]);
    const no = kcat("secret");
    const [out, errText, code] = await Promise.all([
      new Response(no.stdout).text(),
      new Response(no.stderr).text(),
      no.exited,
    ]);
    expect(out).toBe("");
    expect(code).not.toBe(0);
    expect(errText).toMatch(/[Aa]uthoriz/);

    // Deleting the ACLs takes the rights away.
    const deleted = await admin.deleteAcls({
      filters: [{
        resourceType: AclResourceTypes.TOPIC,
        resourceName: "orders-",
        resourcePatternType: ResourcePatternTypes.PREFIXED,
        principal: "User:alice",
        host: "*",
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      }],
    });
    expect(deleted.filterResponses[0].matchingAcls.length).toBe(2);
    const p2 = alice.producer();
    await p2.connect();
    const refused2 = await p2.send({ topic: "orders-eu", messages: [{ value: "o3" }] }).catch((e) => e);
    expect(String(refused2?.type ?? refused2?.cause?.type ?? refused2)).toContain("TOPIC_AUTHORIZATION_FAILED");
    await p2.disconnect();
    await admin.disconnect();
  }, 60_000);
});
