// A partition with an error gets an empty record set in Fetch, never a null one (issue #13.5):
// librdkafka 2.0.2 refuses MessageSetSize -1 as a parse failure and stalls. With python3-confluent-kafka
// (librdkafka 2.0.2): a consumer starting past the log end resets per auto.offset.reset, and a
// consumer whose topic is deleted under it does not spin on Fetch.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
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

async function fill(topic: string, values: string[]): Promise<void> {
  const t = await broker.services.topics.create(topic, 1, new Map());
  const b = buildRecordBatch({ records: values.map((v) => ({ key: null, value: v })) });
  const scanned = (await import("../../src/protocol/record_batch.ts")).scanBatches(b);
  if (!Array.isArray(scanned)) throw new Error(scanned.message);
  await t.partitions[0].append(b, scanned, { durable: false });
}

const COMMON = `
import sys, os, json, time, logging
from confluent_kafka import Consumer, TopicPartition
logs = []
class H(logging.Handler):
    def emit(self, r): logs.append(r.getMessage())
lg = logging.getLogger("rdkafka")
lg.addHandler(H())
lg.setLevel(logging.DEBUG)
def bad():
    return [l for l in logs if "parse" in l.lower() or "MessageSetSize" in l]
`;

const PAST_END = COMMON + `
addr, topic, reset = sys.argv[1:4]
c = Consumer({"bootstrap.servers": addr, "group.id": "past-end-" + reset, "auto.offset.reset": reset,
              "enable.auto.commit": False}, logger=lg)
c.assign([TopicPartition(topic, 0, 100)])
vals, errs = [], []
deadline = time.time() + 20
while time.time() < deadline:
    m = c.poll(0.2)
    if m is None:
        continue
    if m.error():
        errs.append(m.error().code())
        if reset == "error":
            break
        continue
    vals.append(m.value().decode())
    if len(vals) >= 3:
        break
print(json.dumps({"values": vals, "errors": errs, "bad": bad()}), flush=True)
os._exit(0)  # (close() would wait for the group's rebalance after the topic is gone; not under test)
`;

const DELETED = COMMON + `
addr, topic = sys.argv[1:3]
c = Consumer({"bootstrap.servers": addr, "group.id": "deleted-topic", "auto.offset.reset": "earliest",
              "topic.metadata.refresh.interval.ms": 1000}, logger=lg)
c.subscribe([topic])
vals, errs = [], []
deadline = time.time() + 20
while not vals and time.time() < deadline:
    m = c.poll(0.2)
    if m is not None and not m.error():
        vals.append(m.value().decode())
print("ready", flush=True)
sys.stdin.readline()
end = time.time() + 4
while time.time() < end:
    m = c.poll(0.2)
    if m is not None and m.error():
        errs.append(str(m.error()))
print(json.dumps({"values": vals, "errors": errs, "bad": bad()}), flush=True)
os._exit(0)  # (close() would wait for the group's rebalance after the topic is gone; not under test)
`;

async function python(script: string, args: string[]) {
  const proc = Bun.spawn(["timeout", "60", "/usr/bin/python3", "-c", script, addr, ...args], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  return proc;
}

test("a consumer starting past the log end resets per auto.offset.reset (earliest; error reports it)", async () => {
  await fill("past-end", ["a", "b", "c"]);
  for (const reset of ["earliest", "error"]) {
    const proc = await python(PAST_END, ["past-end", reset]);
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    expect([reset, await proc.exited, err]).toEqual([reset, 0, ""]);
    const r = JSON.parse(out.trim().split("\n").pop()!);
    expect(r.bad).toEqual([]);
    // auto.offset.reset=error: the application sees OFFSET_OUT_OF_RANGE (librdkafka's
    // _AUTO_OFFSET_RESET, -140) instead of a reset.
    expect([r.values, r.errors]).toEqual(reset === "earliest" ? [["a", "b", "c"], []] : [[], [-140]]);
  }
}, 60_000);

test("a topic deleted under a consumer: an error, no parse failures, no Fetch loop", async () => {
  await fill("doomed", ["x"]);
  const proc = await python(DELETED, ["doomed"]);
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`consumer exited early: ${out}${await new Response(proc.stderr).text()}`);
    out += new TextDecoder().decode(value);
  }
  await broker.services.topics.delete(broker.services.topics.get("doomed")!);
  const fetchesBefore = broker.services.metrics.requests[1];
  proc.stdin.write("deleted\n");
  proc.stdin.flush();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  expect(await proc.exited).toBe(0);
  const fetches = broker.services.metrics.requests[1] - fetchesBefore;
  const r = JSON.parse(out.trim().split("\n").pop()!);
  expect(r.values).toEqual(["x"]);
  expect(r.bad).toEqual([]);
  expect(r.errors.some((e: string) => e.includes("UNKNOWN_TOPIC_OR_PART"))).toBe(true);
  // Four seconds of polling: a few long-polls and back-offs, not the thousands of a client that
  // cannot parse the answer and retries at once.
  expect(fetches).toBeLessThan(100);
}, 60_000);
