// librdkafka 2.0.2 clients against the in-process broker: python3-confluent-kafka 1.7.0's
// AdminClient (create_topics, describe_configs, alter_configs, create_partitions, list_topics,
// list_groups, delete_topics, with Kafka's errors for bad input) and kcat -L.
// Not in this client version: incremental_alter_configs and describe_cluster (confluent-kafka 2.2
// / 2.3, librdkafka 2.2+); the protocol tests in tests/admin cover those APIs.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";

let broker: Broker;
let addr = "";
beforeAll(async () => {
  broker = await testBroker({ logLevel: "warn" });
  addr = `127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker.close();
});

async function run(cmd: string[]): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`${cmd[0]} exited ${code}: ${out}${err}`);
  return out;
}

const SCRIPT = `
import json, sys
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
from confluent_kafka import KafkaException
a = AdminClient({"bootstrap.servers": sys.argv[1]})
out = {}

def wait(fs):
    res = {}
    for k, f in fs.items():
        try:
            r = f.result(10)
            res[str(k)] = r
        except KafkaException as e:
            res[str(k)] = "ERR:" + e.args[0].name()
    return res

out["create"] = wait(a.create_topics([NewTopic("py-admin", 2, 1, config={"cleanup.policy": "compact", "retention.ms": "-1"})]))
out["create_bad"] = wait(a.create_topics([NewTopic("bad/name", 1, 1), NewTopic("py-bad-config", 1, 1, config={"segment.bytes": "1"}), NewTopic("py-rf", 1, 3)]))

def configs(res, keys):
    r = wait(a.describe_configs([res]))
    v = list(r.values())[0]
    if isinstance(v, str):
        return v
    return {k: [v[k].value, v[k].source, v[k].is_default, v[k].is_sensitive] for k in keys if k in v}

out["topic_configs"] = configs(ConfigResource("topic", "py-admin"), ["cleanup.policy", "retention.ms", "max.message.bytes"])
out["broker_configs"] = configs(ConfigResource("broker", "0"), ["num.partitions", "log.retention.hours", "ssl.keystore.password"])
out["missing_topic"] = configs(ConfigResource("topic", "py-missing"), [])
out["alter"] = wait(a.alter_configs([ConfigResource("topic", "py-admin", set_config={"retention.ms": "1000", "cleanup.policy": "delete"})]))
out["after_alter"] = configs(ConfigResource("topic", "py-admin"), ["cleanup.policy", "retention.ms"])
out["alter_bad"] = wait(a.alter_configs([ConfigResource("topic", "py-admin", set_config={"retention.ms": "later"})]))
out["alter_broker"] = wait(a.alter_configs([ConfigResource("broker", "0", set_config={"log.retention.ms": "7200000"})]))
out["broker_after"] = configs(ConfigResource("broker", "0"), ["log.retention.ms"])
out["inherited"] = configs(ConfigResource("topic", "py-admin"), ["segment.ms", "retention.bytes"])
out["partitions"] = wait(a.create_partitions([NewPartitions("py-admin", 5)]))
out["partitions_bad"] = wait(a.create_partitions([NewPartitions("py-admin", 3)]))
md = a.list_topics(timeout=10)
out["topics"] = {t: len(md.topics[t].partitions) for t in md.topics}
out["brokers"] = [[b.id, b.host, b.port] for b in md.brokers.values()]
out["groups"] = [g.id for g in a.list_groups(timeout=10)]
out["delete"] = wait(a.delete_topics(["py-admin"]))
print(json.dumps(out))
`;

test("confluent-kafka AdminClient", async () => {
  const out = JSON.parse(await run(["/usr/bin/python3", "-c", SCRIPT, addr]));
  expect(out.create).toEqual({ "py-admin": null });
  expect(out.create_bad).toEqual({
    "bad/name": "ERR:TOPIC_EXCEPTION", /* librdkafka's name for 17 */
    "py-bad-config": "ERR:INVALID_CONFIG",
    "py-rf": "ERR:INVALID_REPLICATION_FACTOR",
  });
  // source 1 = DYNAMIC_TOPIC_CONFIG, 4 = STATIC_BROKER_CONFIG, 5 = DEFAULT_CONFIG
  expect(out.topic_configs).toEqual({
    "cleanup.policy": ["compact", 1, false, false],
    "retention.ms": ["-1", 1, false, false],
    "max.message.bytes": ["1048588", 5, true, false],
  });
  expect(out.broker_configs["num.partitions"][0]).toBe("1");
  expect(out.broker_configs["log.retention.hours"]).toEqual(["168", 5, true, false]);
  expect(out.broker_configs["ssl.keystore.password"]).toEqual([null, 5, true, true]);
  expect(out.missing_topic).toBe("ERR:UNKNOWN_TOPIC_OR_PART");
  expect(Object.values(out.alter)).toEqual([null]);
  expect(out.after_alter).toEqual({
    "cleanup.policy": ["delete", 1, false, false],
    "retention.ms": ["1000", 1, false, false],
  });
  expect(Object.values(out.alter_bad)).toEqual(["ERR:INVALID_CONFIG"]);
  expect(Object.values(out.alter_broker)).toEqual([null]);
  expect(out.broker_after).toEqual({ "log.retention.ms": ["7200000", 2, false, false] });
  expect(out.inherited["segment.ms"]).toEqual(["604800000", 5, true, false]);
  expect(out.partitions).toEqual({ "py-admin": null });
  expect(out.partitions_bad).toEqual({ "py-admin": "ERR:INVALID_PARTITIONS" });
  expect(out.topics["py-admin"]).toBe(5);
  expect(out.brokers).toEqual([[0, "127.0.0.1", broker.port]]);
  expect(Array.isArray(out.groups)).toBe(true);
  expect(out.delete).toEqual({ "py-admin": null });
  expect(broker.services.topics.get("py-admin")).toBeUndefined();
}, 60_000);

test("kcat -L lists the broker and topics with their partitions", async () => {
  await broker.services.topics.create("kcat-admin", 3, new Map());
  const out = await run(["kcat", "-b", addr, "-L"]);
  expect(out).toContain(`broker 0 at 127.0.0.1:${broker.port} (controller)`);
  expect(out).toContain(`topic "kcat-admin" with 3 partitions:`);
  expect(out).toContain("partition 2, leader 0, replicas: 0, isrs: 0");
}, 30_000);
