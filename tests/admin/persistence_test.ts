// Dynamic configs, topic configs, quotas and feature levels survive a restart on the same data dir.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DescribeConfigs } from "../../src/protocol/messages/32_describe_configs.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

const dir = mkdtempSync(join(tmpdir(), "chronik-admin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("configs persist across a restart", async () => {
  let broker = await testBroker({ dataDir: dir });
  let c = await WireClient.connect(broker.port);
  const clusterId = broker.services.clusterId;
  await c.send(CreateTopics, 7, {
    topics: [{ name: "p", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  const r = await c.send(IncrementalAlterConfigs, 1, {
    resources: [
      { resourceType: 2, resourceName: "p", configs: [{ name: "retention.ms", configOperation: 0, value: "12345" }] },
      {
        resourceType: 4,
        resourceName: "",
        configs: [{ name: "log.retention.bytes", configOperation: 0, value: "999" }],
      },
      {
        resourceType: 4,
        resourceName: "0",
        configs: [{ name: "message.max.bytes", configOperation: 0, value: "4000" }],
      },
    ],
    validateOnly: false,
  });
  expect(r.responses!.map((x) => x.errorCode)).toEqual([0, 0, 0]);
  await broker.services.quotas.alter([{ entityType: "user", entityName: "alice" }], [{
    key: "producer_byte_rate",
    value: 1024,
    remove: false,
  }], false);
  c.close();
  await broker.close();

  broker = await testBroker({ dataDir: dir });
  c = await WireClient.connect(broker.port);
  expect(broker.services.clusterId).toBe(clusterId);
  const d = await c.send(DescribeConfigs, 4, {
    resources: [
      {
        resourceType: 2,
        resourceName: "p",
        configurationKeys: ["retention.ms", "retention.bytes", "max.message.bytes"],
      },
    ],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  expect(d.results![0].errorCode).toBe(ErrorCode.NONE);
  expect(d.results![0].configs!.map((x) => [x.name, x.value, x.configSource])).toEqual([
    ["max.message.bytes", "4000", 2],
    ["retention.bytes", "999", 3],
    ["retention.ms", "12345", 1],
  ]);
  expect(broker.services.config["message.max.bytes"]).toBe(4000);
  expect(broker.services.quotas.describe([], false).entries).toEqual([
    { entity: [{ entityType: "user", entityName: "alice" }], values: [{ key: "producer_byte_rate", value: 1024 }] },
  ]);
  c.close();
  await broker.close();
});
