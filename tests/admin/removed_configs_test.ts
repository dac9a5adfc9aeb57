// #13.7: topic configs Kafka 4.0 removed but 3.x clients still send (librdkafka's own tests set
// message.format.version) are accepted and ignored with a log line, not INVALID_CONFIG; kafkajs over TCP.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";

let broker: Broker & { lines: string[] };
let kafka: Kafka;

beforeAll(async () => {
  broker = await testBroker();
  kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: "removed-configs", logLevel: logLevel.NOTHING });
});
afterAll(async () => {
  await broker.close();
});

test("CreateTopics and AlterConfigs accept message.format.version / message.downconversion.enable and ignore them", async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(
      await admin.createTopics({
        topics: [{
          topic: "legacy-configs",
          configEntries: [
            { name: "message.format.version", value: "2.8-IV1" },
            { name: "message.downconversion.enable", value: "false" },
            { name: "retention.ms", value: "60000" },
          ],
        }],
      }),
    ).toBe(true);
    expect(broker.lines).toContain(
      "info topic legacy-configs: ignoring message.format.version, message.downconversion.enable (removed in Kafka 4.0)",
    );
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{
        type: 2,
        name: "legacy-configs",
        configEntries: [{ name: "message.format.version", value: "3.0" }, { name: "retention.ms", value: "120000" }],
      }],
    });
    const d = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: "legacy-configs" }] });
    const entries = d.resources[0].configEntries;
    expect(entries.find((e) => e.configName === "retention.ms")?.configValue).toBe("120000");
    expect(entries.some((e) => e.configName === "message.format.version")).toBe(false);
    expect(entries.some((e) => e.configName === "message.downconversion.enable")).toBe(false);
    // A config that never existed is still INVALID_CONFIG.
    await expect(
      admin.createTopics({
        topics: [{ topic: "bad-config", configEntries: [{ name: "no.such.config", value: "1" }] }],
      }),
    ).rejects.toThrow();
  } finally {
    await admin.disconnect();
  }
});
