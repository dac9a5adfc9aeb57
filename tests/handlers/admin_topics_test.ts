import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker;
let c: WireClient;
beforeAll(async () => {
  broker = await testBroker({ "num.partitions": 3 });
  c = await WireClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

const newTopic = (name: string, numPartitions = 2, configs: { name: string; value: string | null }[] = []) => ({
  name,
  numPartitions,
  replicationFactor: 1,
  assignments: [],
  configs,
});

describe("ApiVersions", () => {
  for (const v of [0, 1, 2, 3, 4]) {
    test(`v${v} lists the implemented APIs`, async () => {
      const r = await c.send(ApiVersions, v, { clientSoftwareName: "wire-test", clientSoftwareVersion: "1.0" });
      expect(r.errorCode).toBe(ErrorCode.NONE);
      const keys = r.apiKeys!.map((k) => k.apiKey);
      expect(keys).toContain(0);
      expect(keys).toContain(18);
      const produce = r.apiKeys!.find((k) => k.apiKey === 0)!;
      expect(produce.minVersion).toBe(0); // v0-2 advertised but refused, as Kafka 4.0 (KAFKA-18659)
      expect(produce.maxVersion).toBe(13);
    });
  }
  test("v3 rejects an invalid client software name", async () => {
    const r = await c.send(ApiVersions, 3, { clientSoftwareName: "bad name!", clientSoftwareVersion: "1" });
    expect(r.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe("Metadata", () => {
  test("auto-creates a requested topic with num.partitions", async () => {
    const r = await c.send(Metadata, 12, {
      topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "auto-created" }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.brokers).toEqual([{ nodeId: 0, host: "127.0.0.1", port: broker.port, rack: null }]);
    expect(r.topics![0].errorCode).toBe(ErrorCode.NONE);
    expect(r.topics![0].partitions!.length).toBe(3);
    expect(r.topics![0].topicId).not.toBe("AAAAAAAAAAAAAAAAAAAAAA");
  });
  test('v12: a topic id with the name "" (as the Java client 4.x sends it) is looked up by id', async () => {
    const first = await c.send(Metadata, 12, {
      topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "by-id" }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const id = first.topics![0].topicId!;
    const r = await c.send(Metadata, 12, {
      topics: [{ topicId: id, name: "" }, { topicId: "AAAAAAAAAAAAAAAAAAAAAQ", name: "" }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.topics!.map((t) => [t.errorCode, t.name, t.topicId])).toEqual([
      [ErrorCode.NONE, "by-id", id],
      [ErrorCode.UNKNOWN_TOPIC_ID, null, "AAAAAAAAAAAAAAAAAAAAAQ"],
    ]);
  });
  test("does not auto-create when the request says not to (v4+)", async () => {
    const r = await c.send(Metadata, 9, {
      topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "not-created" }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.topics![0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
  test("illegal names are INVALID_TOPIC_EXCEPTION", async () => {
    const r = await c.send(Metadata, 1, {
      topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: "bad/name" }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.topics![0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });
  test("v0 with an empty list returns all topics", async () => {
    const r = await c.send(Metadata, 0, {
      topics: [],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.topics!.map((t) => t.name)).toContain("auto-created");
  });
});

describe("CreateTopics / DeleteTopics", () => {
  test("creates, rejects duplicates and bad input, deletes by name and by id", async () => {
    const r = await c.send(CreateTopics, 7, {
      topics: [
        newTopic("t1", 4, [{ name: "retention.ms", value: "1000" }]),
        newTopic("t1"),
        newTopic("t2", 0),
        newTopic("t3", 1, [{ name: "no.such.config", value: "1" }]),
        newTopic("t4", 1, [{ name: "retention.ms", value: "abc" }]),
        { ...newTopic("t5"), replicationFactor: 3 },
        newTopic("a".repeat(250)),
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const codes = r.topics!.map((t) => t.errorCode);
    expect(codes).toEqual([
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_PARTITIONS,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_REPLICATION_FACTOR,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    ]);
    const ok = await c.send(CreateTopics, 7, {
      topics: [newTopic("t1", 4, [{ name: "retention.ms", value: "1000" }])],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const t1 = ok.topics![0];
    expect(t1.errorCode).toBe(ErrorCode.NONE);
    expect(t1.numPartitions).toBe(4);
    expect(t1.configs!.find((x) => x.name === "retention.ms")!.value).toBe("1000");
    const again = await c.send(CreateTopics, 0, { topics: [newTopic("t1")], timeoutMs: 1000, validateOnly: false });
    expect(again.topics![0].errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    const collide = await c.send(CreateTopics, 4, { topics: [newTopic("t.1")], timeoutMs: 1000, validateOnly: false });
    expect(collide.topics![0].errorCode).toBe(ErrorCode.NONE);
    const collide2 = await c.send(CreateTopics, 4, { topics: [newTopic("t_1")], timeoutMs: 1000, validateOnly: false });
    expect(collide2.topics![0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    const dry = await c.send(CreateTopics, 1, { topics: [newTopic("dry")], timeoutMs: 1000, validateOnly: true });
    expect(dry.topics![0].errorCode).toBe(ErrorCode.NONE);
    expect(broker.services.topics.get("dry")).toBeUndefined();

    const del = await c.send(DeleteTopics, 6, {
      topics: [{ name: null, topicId: t1.topicId! }, { name: "nope", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
      topicNames: [],
      timeoutMs: 1000,
    });
    expect(del.responses!.map((x) => x.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const del0 = await c.send(DeleteTopics, 0, { topics: [], topicNames: ["t.1"], timeoutMs: 1000 });
    expect(del0.responses![0].errorCode).toBe(ErrorCode.NONE);
    expect(broker.services.topics.get("t1")).toBeUndefined();
  });
});
