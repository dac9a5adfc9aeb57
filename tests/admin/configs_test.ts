import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DescribeConfigs } from "../../src/protocol/messages/32_describe_configs.ts";
import { AlterConfigs } from "../../src/protocol/messages/33_alter_configs.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

const TOPIC = 2;
const BROKER = 4;
const BROKER_LOGGER = 8;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

let broker: Broker;
let c: WireClient;
beforeAll(async () => {
  broker = await testBroker({ "log.retention.hours": 24, "num.partitions": 2 });
  c = await WireClient.connect(broker.port);
  const r = await c.send(CreateTopics, 7, {
    topics: [
      {
        name: "cfg",
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: "cleanup.policy", value: "compact" }],
      },
      { name: "cfg2", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(r.topics!.map((t) => t.errorCode)).toEqual([0, 0]);
});
afterAll(async () => {
  c.close();
  await broker.close();
});

const describeOne = async (
  v: number,
  resourceType: number,
  resourceName: string,
  keys: string[] | null = null,
  includeSynonyms = true,
  includeDocumentation = false,
) => {
  const r = await c.send(DescribeConfigs, v, {
    resources: [{ resourceType, resourceName, configurationKeys: keys }],
    includeSynonyms,
    includeDocumentation,
  });
  return r.results![0];
};
const configOf = async (resourceType: number, name: string, key: string) =>
  (await describeOne(4, resourceType, name, [key])).configs![0];
const incremental = async (
  resourceType: number,
  resourceName: string,
  configs: { name: string; configOperation: number; value: string | null }[],
  validateOnly = false,
) =>
  (await c.send(IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly }))
    .responses![0];

describe("DescribeConfigs", () => {
  test("topic: every topic config, overrides as DYNAMIC_TOPIC_CONFIG with synonyms", async () => {
    for (const v of [0, 1, 2, 3, 4]) {
      const r = await describeOne(v, TOPIC, "cfg");
      expect(r.errorCode).toBe(0);
      const names = r.configs!.map((x) => x.name);
      expect(names).toContain("retention.ms");
      expect(names).toContain("max.message.bytes");
      const cp = r.configs!.find((x) => x.name === "cleanup.policy")!;
      expect(cp.value).toBe("compact");
      if (v === 0) expect(cp.isDefault).toBe(false);
      else {
        expect(cp.configSource).toBe(1);
        expect(cp.synonyms).toEqual([
          { name: "cleanup.policy", value: "compact", source: 1 },
          { name: "log.cleanup.policy", value: "delete", source: 5 },
        ]);
      }
    }
  });
  test("topic defaults follow the broker's static log.retention.hours (unit synonym)", async () => {
    const rm = await configOf(TOPIC, "cfg", "retention.ms");
    expect(rm.value).toBe(String(24 * 3600000));
    // Kafka's quirk: synonyms start at the broker config's own name, so .hours alone is not listed.
    expect(rm.configSource).toBe(5);
    const hours = await configOf(BROKER, "0", "log.retention.hours");
    expect(hours.value).toBe("24");
    expect(hours.configSource).toBe(4);
    expect(hours.synonyms).toEqual([{ name: "log.retention.hours", value: "24", source: 4 }, {
      name: "log.retention.hours",
      value: "168",
      source: 5,
    }]);
    expect(hours.readOnly).toBe(true);
  });
  test("documentation and types at v3+", async () => {
    const x = (await describeOne(3, TOPIC, "cfg", ["segment.bytes"], false, true)).configs![0];
    expect(x.configType).toBe(3);
    expect(x.documentation!.length).toBeGreaterThan(5);
    const y = (await describeOne(4, TOPIC, "cfg", ["segment.bytes"], false, false)).configs![0];
    expect(y.documentation).toBe(null);
    expect(y.synonyms).toEqual([]);
  });
  test("the filter returns only the keys asked for", async () => {
    const r = await describeOne(2, BROKER, "0", ["message.max.bytes", "no.such.config"]);
    expect(r.configs!.map((x) => x.name)).toEqual(["message.max.bytes"]);
    expect(r.configs![0].readOnly).toBe(false);
  });
  test("broker: sensitive configs are null; node.id and listeners come from the start-up", async () => {
    const r = await describeOne(4, BROKER, "0");
    const by = new Map(r.configs!.map((x) => [x.name, x]));
    expect(by.get("ssl.keystore.password")!.isSensitive).toBe(true);
    expect(by.get("ssl.keystore.password")!.value).toBe(null);
    expect(by.get("node.id")!.value).toBe("0");
    expect(by.get("listeners")!.value).toBe(`PLAINTEXT://127.0.0.1:${broker.port}`);
    expect(by.get("num.partitions")!.value).toBe("2");
    expect(by.get("num.partitions")!.configSource).toBe(4);
  });
  test("errors: unknown topic, illegal name, other broker, bad id, unsupported type", async () => {
    const r = await c.send(DescribeConfigs, 4, {
      resources: [
        { resourceType: TOPIC, resourceName: "nope", configurationKeys: null },
        { resourceType: TOPIC, resourceName: "bad/name", configurationKeys: null },
        { resourceType: BROKER, resourceName: "7", configurationKeys: null },
        { resourceType: BROKER, resourceName: "x", configurationKeys: null },
        { resourceType: 3, resourceName: "m", configurationKeys: null }, // no such resource type
        { resourceType: BROKER_LOGGER, resourceName: "", configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(r.results!.map((x) => x.errorCode)).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    for (const x of r.results!) expect(x.errorMessage).toBeTruthy();
  });
  test("broker logger: root", async () => {
    const r = await describeOne(4, BROKER_LOGGER, "0");
    expect(r.configs).toEqual([expect.objectContaining({ name: "root", value: "DEBUG", configSource: 6 })]);
  });
});

describe("AlterConfigs", () => {
  test("replaces a topic's set; validateOnly changes nothing", async () => {
    const alter = (configs: { name: string; value: string | null }[], validateOnly = false) =>
      c.send(AlterConfigs, 2, { resources: [{ resourceType: TOPIC, resourceName: "cfg2", configs }], validateOnly });
    let r = await alter([{ name: "retention.ms", value: "1000" }], true);
    expect(r.responses![0].errorCode).toBe(0);
    expect((await configOf(TOPIC, "cfg2", "retention.ms")).configSource).toBe(5);
    r = await alter([{ name: "retention.ms", value: "1000" }, { name: "max.message.bytes", value: "2000" }]);
    expect(r.responses![0].errorCode).toBe(0);
    expect((await configOf(TOPIC, "cfg2", "retention.ms")).value).toBe("1000");
    r = await alter([{ name: "max.message.bytes", value: "3000" }]);
    expect((await configOf(TOPIC, "cfg2", "retention.ms")).value).toBe(String(24 * 3600000));
    expect((await configOf(TOPIC, "cfg2", "max.message.bytes")).value).toBe("3000");
  });
  test("bad values and names are INVALID_CONFIG with Kafka's message", async () => {
    const cases: [string, string | null, number, string][] = [
      [
        "retention.ms",
        "abc",
        ErrorCode.INVALID_CONFIG,
        "Invalid value abc for configuration retention.ms: Not a number of type LONG",
      ],
      ["cleanup.policy", "shred", ErrorCode.INVALID_CONFIG, "String must be one of: delete, compact"],
      ["no.such", "1", ErrorCode.INVALID_CONFIG, "Unknown topic config name: no.such"],
      ["segment.bytes", "1048575", ErrorCode.INVALID_CONFIG, "Value must be at least 1048576"],
      ["retention.ms", null, ErrorCode.INVALID_REQUEST, "Null value not supported"],
    ];
    for (const [name, value, code, msg] of cases) {
      const r = await c.send(AlterConfigs, 1, {
        resources: [{ resourceType: TOPIC, resourceName: "cfg2", configs: [{ name, value }] }],
        validateOnly: false,
      });
      expect(r.responses![0].errorCode).toBe(code);
      expect(r.responses![0].errorMessage).toContain(msg);
    }
  });
  test("broker: read-only configs are refused; dynamic ones apply and show their source", async () => {
    let r = await c.send(AlterConfigs, 0, {
      resources: [{ resourceType: BROKER, resourceName: "0", configs: [{ name: "num.partitions", value: "5" }] }],
      validateOnly: false,
    });
    expect(r.responses![0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(r.responses![0].errorMessage).toContain("Cannot update these configs dynamically: Set(num.partitions)");
    r = await c.send(AlterConfigs, 0, {
      resources: [{ resourceType: BROKER, resourceName: "", configs: [{ name: "log.retention.ms", value: "5000" }] }],
      validateOnly: false,
    });
    expect(r.responses![0].errorCode).toBe(0);
    const rm = await configOf(TOPIC, "cfg", "retention.ms");
    expect(rm.value).toBe("5000");
    expect(rm.configSource).toBe(3);
    const def = await describeOne(4, BROKER, "");
    expect(def.configs!.map((x) => [x.name, x.value, x.configSource])).toEqual([["log.retention.ms", "5000", 3]]);
    expect(broker.services.config["log.retention.ms"]).toBe(5000);
    r = await c.send(AlterConfigs, 0, {
      resources: [{ resourceType: BROKER, resourceName: "", configs: [] }],
      validateOnly: false,
    });
    expect((await configOf(TOPIC, "cfg", "retention.ms")).value).toBe(String(24 * 3600000));
    expect(broker.services.config["log.retention.ms"]).toBe(24 * 3600000);
  });
  test("BROKER_LOGGER is refused", async () => {
    const r = await c.send(AlterConfigs, 2, {
      resources: [{ resourceType: BROKER_LOGGER, resourceName: "0", configs: [{ name: "root", value: "INFO" }] }],
      validateOnly: false,
    });
    expect(r.responses![0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe("IncrementalAlterConfigs", () => {
  test("SET, DELETE, APPEND and SUBTRACT on a topic", async () => {
    expect(
      (await incremental(TOPIC, "cfg", [{ name: "cleanup.policy", configOperation: APPEND, value: "delete" }]))
        .errorCode,
    ).toBe(0);
    expect((await configOf(TOPIC, "cfg", "cleanup.policy")).value).toBe("compact,delete");
    expect(
      (await incremental(TOPIC, "cfg", [{ name: "cleanup.policy", configOperation: SUBTRACT, value: "compact" }]))
        .errorCode,
    ).toBe(0);
    expect((await configOf(TOPIC, "cfg", "cleanup.policy")).value).toBe("delete");
    expect(
      (await incremental(TOPIC, "cfg", [{ name: "retention.ms", configOperation: SET, value: "-1" }, {
        name: "cleanup.policy",
        configOperation: DELETE,
        value: null,
      }])).errorCode,
    ).toBe(0);
    expect((await configOf(TOPIC, "cfg", "retention.ms")).value).toBe("-1");
    const cp = await configOf(TOPIC, "cfg", "cleanup.policy");
    expect([cp.value, cp.configSource]).toEqual(["delete", 5]);
  });
  test("APPEND on a non-list, duplicates, bad op, validateOnly", async () => {
    let r = await incremental(TOPIC, "cfg", [{ name: "retention.ms", configOperation: APPEND, value: "1" }]);
    expect([r.errorCode, r.errorMessage]).toEqual([
      ErrorCode.INVALID_CONFIG,
      "Config value append is not allowed for config key: retention.ms",
    ]);
    r = await incremental(TOPIC, "cfg", [{ name: "retention.ms", configOperation: SET, value: "1" }, {
      name: "retention.ms",
      configOperation: SET,
      value: "2",
    }]);
    expect(r.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    r = await incremental(TOPIC, "cfg", [{ name: "retention.ms", configOperation: 9, value: "1" }]);
    expect(r.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    r = await incremental(TOPIC, "cfg", [{ name: "retention.ms", configOperation: SET, value: "77" }], true);
    expect(r.errorCode).toBe(0);
    expect((await configOf(TOPIC, "cfg", "retention.ms")).value).toBe("-1");
    r = await incremental(TOPIC, "cfg", [{ name: "min.compaction.lag.ms", configOperation: SET, value: "10" }, {
      name: "max.compaction.lag.ms",
      configOperation: SET,
      value: "5",
    }]);
    expect(r.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    r = await incremental(TOPIC, "missing", [{ name: "retention.ms", configOperation: SET, value: "1" }]);
    expect(r.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
  test("broker per-node config wins over the cluster default; message.max.bytes takes effect via Topics.config", async () => {
    expect(
      (await incremental(BROKER, "", [{ name: "message.max.bytes", configOperation: SET, value: "5000" }])).errorCode,
    ).toBe(0);
    expect(
      (await incremental(BROKER, "0", [{ name: "message.max.bytes", configOperation: SET, value: "6000" }])).errorCode,
    ).toBe(0);
    const m = await configOf(BROKER, "0", "message.max.bytes");
    expect([m.value, m.configSource]).toEqual(["6000", 2]);
    expect(m.synonyms!.map((s) => s.source)).toEqual([2, 3, 5]);
    const svc = broker.services;
    expect(svc.topics.config(svc.topics.get("cfg")!, "max.message.bytes", svc.config)).toBe("6000");
    expect(
      (await incremental(BROKER, "0", [{ name: "message.max.bytes", configOperation: DELETE, value: null }])).errorCode,
    ).toBe(0);
    expect(svc.topics.config(svc.topics.get("cfg")!, "max.message.bytes", svc.config)).toBe("5000");
    expect(
      (await incremental(BROKER, "", [{ name: "message.max.bytes", configOperation: DELETE, value: null }])).errorCode,
    ).toBe(0);
    expect(svc.config["message.max.bytes"]).toBe(1048588);
    const bad = await incremental(BROKER, "0", [{ name: "message.max.bytes", configOperation: SET, value: "-3" }]);
    expect(bad.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const perBroker = await incremental(BROKER, "", [{
      name: "ssl.keystore.password",
      configOperation: SET,
      value: "x",
    }]);
    expect(perBroker.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(
      (await incremental(BROKER, "0", [{ name: "ssl.keystore.password", configOperation: SET, value: "x" }])).errorCode,
    ).toBe(0);
    const pw = await configOf(BROKER, "0", "ssl.keystore.password");
    expect([pw.value, pw.isSensitive, pw.configSource]).toEqual([null, true, 2]);
  });
  test("root logger level changes the broker's log level", async () => {
    expect((await incremental(BROKER_LOGGER, "0", [{ name: "root", configOperation: SET, value: "WARN" }])).errorCode)
      .toBe(0);
    expect(broker.services.config.logLevel).toBe("warn");
    expect((await configOf(BROKER_LOGGER, "0", "root")).value).toBe("WARN");
    expect((await incremental(BROKER_LOGGER, "0", [{ name: "root", configOperation: DELETE, value: null }])).errorCode)
      .toBe(ErrorCode.INVALID_CONFIG);
    expect((await incremental(BROKER_LOGGER, "0", [{ name: "root", configOperation: SET, value: "LOUD" }])).errorCode)
      .toBe(ErrorCode.INVALID_CONFIG);
    expect((await incremental(BROKER_LOGGER, "0", [{ name: "kafka", configOperation: SET, value: "INFO" }])).errorCode)
      .toBe(ErrorCode.INVALID_CONFIG);
    expect(
      (await incremental(BROKER_LOGGER, "0", [{ name: "root", configOperation: APPEND, value: "INFO" }])).errorCode,
    ).toBe(ErrorCode.INVALID_REQUEST);
    expect((await incremental(BROKER_LOGGER, "0", [{ name: "root", configOperation: SET, value: "DEBUG" }])).errorCode)
      .toBe(0);
  });
});
