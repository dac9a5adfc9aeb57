// The versions Kafka 4.1 added that this broker serves (issue #16's codec part): each new field or
// error over TCP through the generated codec.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DescribeGroups } from "../../src/protocol/messages/15_describe_groups.ts";
import { DescribeCluster } from "../../src/protocol/messages/60_describe_cluster.ts";
import { ListConfigResources } from "../../src/protocol/messages/74_list_config_resources.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { ListTransactions } from "../../src/protocol/messages/66_list_transactions.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker;
let c: WireClient;
let topicId = "";
beforeAll(async () => {
  broker = await testBroker({});
  c = await WireClient.connect(broker.port);
  const r = await c.send(CreateTopics, 7, {
    topics: [{ name: "k41", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  topicId = r.topics![0].topicId!;
});
afterAll(async () => {
  c.close();
  await broker.close();
});

const records = () =>
  buildRecordBatch({ records: [{ key: null, value: new TextEncoder().encode("v"), timestamp: BigInt(Date.now()) }] });

describe("Kafka 4.1 versions", () => {
  test("Produce v13 names topics by id; an unknown id is UNKNOWN_TOPIC_ID", async () => {
    const send = (id: string) =>
      c.send(Produce, 13, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: "", topicId: id, partitionData: [{ index: 0, records: records() }] }],
      });
    const ok = await send(topicId);
    expect(ok.responses![0].topicId).toBe(topicId);
    expect(ok.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
    const bad = await send("AAAAAAAAAAAAAAAAAAAAAQ");
    expect(bad.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  test("Metadata v13 carries a top-level error code of none", async () => {
    const r = await c.send(Metadata, 13, {
      topics: [{ name: "k41", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.topics![0].topicId).toBe(topicId);
  });

  test("DescribeGroups v6: an unknown group is GROUP_ID_NOT_FOUND with a message; v5 stays Dead with no error", async () => {
    const v6 = await c.send(DescribeGroups, 6, { groups: ["nope"], includeAuthorizedOperations: false });
    expect(v6.groups![0]).toMatchObject({
      errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
      errorMessage: "Group nope not found.",
      groupState: "Dead",
    });
    const v5 = await c.send(DescribeGroups, 5, { groups: ["nope"], includeAuthorizedOperations: false });
    expect(v5.groups![0]).toMatchObject({ errorCode: ErrorCode.NONE, groupState: "Dead" });
  });

  test("DescribeCluster v2 says the broker is not fenced", async () => {
    const r = await c.send(DescribeCluster, 2, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
      includeFencedBrokers: true,
    });
    expect(r.brokers).toHaveLength(1);
    expect(r.brokers![0].isFenced).toBe(false);
  });

  test("ListTransactions v2: a pattern filters ids; one that does not compile is INVALID_REGULAR_EXPRESSION", async () => {
    for (const tid of ["orders-1", "orders-2", "billing-1", "xorders-1"]) {
      const init = await c.send(InitProducerId, 3, initProducerIdRequest(tid, 30000));
      expect(init.errorCode).toBe(ErrorCode.NONE);
    }
    const list = async (transactionalIdPattern: string | null) => {
      const r = await c.send(ListTransactions, 2, {
        stateFilters: [],
        producerIdFilters: [],
        durationFilter: -1n,
        transactionalIdPattern,
      });
      expect(r.errorCode).toBe(ErrorCode.NONE);
      return r.transactionStates!.map((t) => t.transactionalId).sort();
    };
    expect(await list(null)).toEqual(["billing-1", "orders-1", "orders-2", "xorders-1"]);
    expect(await list("")).toEqual(["billing-1", "orders-1", "orders-2", "xorders-1"]);
    // The whole id must match (Pattern.matches): "orders-.*" leaves out xorders-1.
    expect(await list("orders-.*")).toEqual(["orders-1", "orders-2"]);
    expect(await list(".*-1")).toEqual(["billing-1", "orders-1", "xorders-1"]);
    expect(await list("nothing-.*")).toEqual([]);
    const bad = await c.send(ListTransactions, 2, {
      stateFilters: [],
      producerIdFilters: [],
      durationFilter: -1n,
      transactionalIdPattern: "(",
    });
    expect(bad.errorCode).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
  });

  test("ListConfigResources: v0 lists no client-metrics resources; v1 lists topics and brokers by type", async () => {
    const v0 = await c.send(ListConfigResources, 0, { resourceTypes: [] });
    expect(v0).toMatchObject({ errorCode: ErrorCode.NONE, configResources: [] });
    const topics = await c.send(ListConfigResources, 1, { resourceTypes: [2] });
    expect(topics.configResources).toContainEqual({ resourceName: "k41", resourceType: 2 });
    expect(topics.configResources!.every((r) => r.resourceType === 2)).toBe(true);
    const all = await c.send(ListConfigResources, 1, { resourceTypes: [] });
    expect([...new Set(all.configResources!.map((r) => r.resourceType))].sort()).toEqual([2, 4, 8]);
    const unknown = await c.send(ListConfigResources, 1, { resourceTypes: [3] });
    expect(unknown.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });
});
