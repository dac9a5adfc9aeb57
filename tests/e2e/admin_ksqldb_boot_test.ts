// The calls a ksqlDB server (Java AdminClient 3.x) makes at start-up, scripted at the versions that
// client sends: describe the cluster (with authorized operations, to learn whether ACLs are
// supported), describe the broker's configs, ensure the compacted command topic (validate, create
// with retention.ms=-1, describe it by metadata and by DescribeTopicPartitions, check and set its
// configs), the processing-log topic, and list consumer groups. A second boot finds the topic and
// only re-applies its retention. All must succeed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { ListGroups } from "../../src/protocol/messages/16_list_groups.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DescribeConfigs } from "../../src/protocol/messages/32_describe_configs.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { DescribeCluster } from "../../src/protocol/messages/60_describe_cluster.ts";
import { DescribeTopicPartitions } from "../../src/protocol/messages/75_describe_topic_partitions.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

const COMMAND_TOPIC = "_confluent-ksql-default__command_topic";
const PROCESSING_LOG = "default_ksql_processing_log";
let broker: Broker;
let c: WireClient;
beforeAll(async () => {
  broker = await testBroker({ logLevel: "warn" });
  c = await WireClient.connect(broker.port);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

async function boot(): Promise<void> {
  const av = await c.send(
    ApiVersions,
    3,
    { clientSoftwareName: "apache-kafka-java", clientSoftwareVersion: "3.7.0" },
    "ksql-admin",
  );
  expect(av.errorCode).toBe(0);
  for (const key of [19, 32, 44, 60, 75]) expect(av.apiKeys!.map((k) => k.apiKey)).toContain(key);

  // KafkaClusterUtil: cluster id, nodes, authorized operations.
  const cluster = await c.send(
    DescribeCluster,
    1,
    { includeClusterAuthorizedOperations: true, includeFencedBrokers: false, endpointType: 1 },
    "ksql-admin",
  );
  expect(cluster.errorCode).toBe(0);
  expect(cluster.clusterId).toBe(broker.services.clusterId);
  expect(cluster.clusterAuthorizedOperations).not.toBe(-2147483648);
  const nodeId = cluster.brokers![0].brokerId!;

  // KafkaClusterUtil.getConfig: the broker's configs.
  const bc = await c.send(DescribeConfigs, 4, {
    resources: [{ resourceType: 4, resourceName: String(nodeId), configurationKeys: null }],
    includeSynonyms: false,
    includeDocumentation: false,
  }, "ksql-admin");
  expect(bc.results![0].errorCode).toBe(0);
  const brokerConfigs = new Map(bc.results![0].configs!.map((x) => [x.name, x.value]));
  expect(brokerConfigs.get("auto.create.topics.enable")).toBe("true");
  expect(brokerConfigs.get("min.insync.replicas")).toBe("1");

  // KsqlInternalTopicUtils.ensureTopic(command topic).
  const md = await c.send(Metadata, 12, {
    topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: COMMAND_TOPIC }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  }, "ksql-admin");
  const exists = md.topics![0].errorCode === ErrorCode.NONE;
  if (!exists) {
    expect(md.topics![0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const configs = [
      { name: "cleanup.policy", value: "compact" },
      { name: "retention.ms", value: "-1" },
      { name: "min.insync.replicas", value: "1" },
      { name: "unclean.leader.election.enable", value: "false" },
    ];
    for (const validateOnly of [true, false]) {
      const cr = await c.send(CreateTopics, 7, {
        topics: [{ name: COMMAND_TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs }],
        timeoutMs: 30000,
        validateOnly,
      }, "ksql-admin");
      expect([cr.topics![0].errorCode, cr.topics![0].errorMessage]).toEqual([0, null]);
      expect(cr.topics![0].numPartitions).toBe(1);
    }
  }
  const dtp = await c.send(DescribeTopicPartitions, 0, {
    topics: [{ name: COMMAND_TOPIC }],
    responsePartitionLimit: 2000,
    cursor: null,
  }, "ksql-admin");
  expect(dtp.topics![0].errorCode).toBe(0);
  expect(dtp.topics![0].partitions!.map((p) => p.replicaNodes)).toEqual([[nodeId]]);
  const tc = await c.send(DescribeConfigs, 4, {
    resources: [{ resourceType: 2, resourceName: COMMAND_TOPIC, configurationKeys: null }],
    includeSynonyms: true,
    includeDocumentation: false,
  }, "ksql-admin");
  expect(tc.results![0].errorCode).toBe(0);
  const topicConfigs = new Map(tc.results![0].configs!.map((x) => [x.name, x.value]));
  expect(topicConfigs.get("cleanup.policy")).toBe("compact");
  expect(topicConfigs.get("retention.ms")).toBe("-1");
  const alter = await c.send(IncrementalAlterConfigs, 1, {
    resources: [{
      resourceType: 2,
      resourceName: COMMAND_TOPIC,
      configs: [{ name: "retention.ms", configOperation: 0, value: "-1" }],
    }],
    validateOnly: false,
  }, "ksql-admin");
  expect(alter.responses![0].errorCode).toBe(0);

  // The processing log topic (created when missing, left alone when there).
  const pl = await c.send(CreateTopics, 7, {
    topics: [{ name: PROCESSING_LOG, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30000,
    validateOnly: false,
  }, "ksql-admin");
  expect<number[]>([ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS]).toContain(pl.topics![0].errorCode!);

  const lg = await c.send(ListGroups, 5, { statesFilter: [], typesFilter: [] }, "ksql-admin");
  expect(lg.errorCode).toBe(0);
}

test("ksqlDB start-up calls succeed, first boot and restart", async () => {
  await boot();
  await boot();
  expect(broker.services.topics.get(COMMAND_TOPIC)!.configs.get("cleanup.policy")).toBe("compact");
});
