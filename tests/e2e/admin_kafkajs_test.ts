// kafkajs 2.2.4 admin against the in-process broker: topics with configs, partitions, configs,
// groups, records, offsets by timestamp, cluster; and the errors Kafka gives to bad input.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Admin } from "kafkajs";
import { ConfigResourceTypes, Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await testBroker({ "group.initial.rebalance.delay.ms": 0, logLevel: "warn" });
  kafka = new Kafka({
    brokers: [`127.0.0.1:${broker.port}`],
    clientId: "admin-kjs",
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
  await broker.close();
});

/** The Kafka error type kafkajs reports for a rejected call. */
async function errorType(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { type?: string; errors?: { type?: string }[]; message: string };
    return err.type ?? err.errors?.[0]?.type ?? err.message;
  }
  return "no error";
}

describe("kafkajs admin", () => {
  test("createTopics with configs, describeConfigs, alterConfigs", async () => {
    expect(
      await admin.createTopics({
        topics: [{
          topic: "kjs-admin",
          numPartitions: 2,
          replicationFactor: 1,
          configEntries: [{ name: "cleanup.policy", value: "compact" }, { name: "retention.ms", value: "-1" }],
        }],
      }),
    ).toBe(true);
    const d = await admin.describeConfigs({
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: "kjs-admin",
        configNames: ["cleanup.policy", "retention.ms", "segment.bytes"],
      }],
      includeSynonyms: true,
    });
    const entries = new Map(d.resources[0].configEntries.map((e) => [e.configName, e]));
    expect(entries.get("cleanup.policy")!.configValue).toBe("compact");
    expect(entries.get("retention.ms")!.configValue).toBe("-1");
    expect(entries.get("segment.bytes")!.isDefault).toBe(true);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: "kjs-admin",
        configEntries: [{ name: "retention.ms", value: "3600000" }],
      }],
    });
    const d2 = await admin.describeConfigs({
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: "kjs-admin",
        configNames: ["retention.ms", "cleanup.policy"],
      }],
      includeSynonyms: false,
    });
    const e2 = new Map(d2.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
    // AlterConfigs replaces the whole set: cleanup.policy is back to its default.
    expect(e2).toEqual(new Map([["cleanup.policy", "delete"], ["retention.ms", "3600000"]]));
    const b = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.BROKER, name: "0" }],
      includeSynonyms: false,
    });
    const names = b.resources[0].configEntries.map((e) => e.configName);
    expect(names).toContain("log.retention.hours");
    expect(names).toContain("num.partitions");
  });

  test("createPartitions and deleteTopics", async () => {
    await admin.createPartitions({ topicPartitions: [{ topic: "kjs-admin", count: 4 }] });
    const md = await admin.fetchTopicMetadata({ topics: ["kjs-admin"] });
    expect(md.topics[0].partitions.length).toBe(4);
    await admin.createTopics({ topics: [{ topic: "kjs-doomed" }] });
    await admin.deleteTopics({ topics: ["kjs-doomed"] });
    expect(await admin.listTopics()).not.toContain("kjs-doomed");
  });

  test("deleteTopicRecords and fetchTopicOffsetsByTimestamp", async () => {
    await admin.createTopics({ topics: [{ topic: "kjs-records", numPartitions: 1 }] });
    const p = kafka.producer();
    await p.connect();
    await p.send({
      topic: "kjs-records",
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, timestamp: String(1_000_000 + i * 1000) })),
    });
    await p.disconnect();
    expect(await admin.fetchTopicOffsetsByTimestamp("kjs-records", 1_000_000 + 4500)).toEqual([{
      partition: 0,
      offset: "5",
    }]);
    await admin.deleteTopicRecords({ topic: "kjs-records", partitions: [{ partition: 0, offset: "3" }] });
    const offsets = await admin.fetchTopicOffsets("kjs-records");
    expect(offsets[0]).toEqual(expect.objectContaining({ partition: 0, low: "3", high: "10" }));
  });

  test("describeCluster", async () => {
    const c = await admin.describeCluster();
    expect(c.clusterId).toBe(broker.services.clusterId);
    expect(c.controller).toBe(0);
    expect(c.brokers).toEqual([{ nodeId: 0, host: "127.0.0.1", port: broker.port }]);
  });

  test("listGroups and describeGroups", async () => {
    await admin.createTopics({ topics: [{ topic: "kjs-grp", numPartitions: 1 }] });
    const consumer = kafka.consumer({ groupId: "kjs-admin-group", sessionTimeout: 10000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: "kjs-grp", fromBeginning: true });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => void (joined = true));
    await consumer.run({ eachMessage: async () => {} });
    const t0 = Date.now();
    while (!joined && Date.now() - t0 < 15000) await Bun.sleep(100);
    const groups = await admin.listGroups();
    expect(groups.groups).toContainEqual({ groupId: "kjs-admin-group", protocolType: "consumer" });
    const d = await admin.describeGroups(["kjs-admin-group"]);
    expect(d.groups[0].state).toBe("Stable");
    expect(d.groups[0].members.length).toBe(1);
    await consumer.disconnect();
  }, 30_000);

  test("bad input gets Kafka's errors", async () => {
    expect(await errorType(admin.createTopics({ topics: [{ topic: "bad/name" }] }))).toBe("INVALID_TOPIC_EXCEPTION");
    expect(await errorType(admin.createTopics({ topics: [{ topic: "x".repeat(250) }] }))).toBe(
      "INVALID_TOPIC_EXCEPTION",
    );
    expect(
      await errorType(
        admin.createTopics({
          topics: [{ topic: "kjs-bad-config", configEntries: [{ name: "retention.ms", value: "soon" }] }],
        }),
      ),
    ).toBe("INVALID_CONFIG");
    expect(await errorType(admin.createTopics({ topics: [{ topic: "kjs-bad-rf", replicationFactor: 3 }] }))).toBe(
      "INVALID_REPLICATION_FACTOR",
    );
    expect(await errorType(admin.createPartitions({ topicPartitions: [{ topic: "kjs-admin", count: 2 }] }))).toBe(
      "INVALID_PARTITIONS",
    );
    expect(await errorType(admin.createPartitions({ topicPartitions: [{ topic: "kjs-none", count: 2 }] }))).toBe(
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
    expect(
      await errorType(
        admin.alterConfigs({
          validateOnly: false,
          resources: [{
            type: ConfigResourceTypes.TOPIC,
            name: "kjs-admin",
            configEntries: [{ name: "cleanup.policy", value: "shred" }],
          }],
        }),
      ),
    ).toBe("INVALID_CONFIG");
    expect(
      await errorType(
        admin.alterConfigs({
          validateOnly: false,
          resources: [{
            type: ConfigResourceTypes.BROKER,
            name: "0",
            configEntries: [{ name: "num.partitions", value: "9" }],
          }],
        }),
      ),
    ).toBe("INVALID_CONFIG");
    expect(
      await errorType(
        admin.describeConfigs({
          resources: [{ type: ConfigResourceTypes.TOPIC, name: "kjs-none" }],
          includeSynonyms: false,
        }),
      ),
    ).toBe("UNKNOWN_TOPIC_OR_PARTITION");
  });
});
