// librdkafka group consumers: python3-confluent-kafka (librdkafka 2.0.2) with the range and the
// cooperative-sticky assignors (two members, then one leaves), and kcat -G (balanced consumer).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { eventually } from "../helpers/consume.ts";
import { onJsonLines } from "../helpers/lines.ts";
import { Kafka, logLevel } from "kafkajs";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker;
const spawned = new Set<{ kill(signal?: number): void }>();

type Member = { lines: Record<string, unknown>[]; assigned: number[]; values: Set<string>; exited: Promise<number> };

const waitFor = (what: string, cond: () => boolean | Promise<boolean>) => eventually(what, cond, 25_000);

function python(strategy: string, group: string, topic: string, seconds: number): Member {
  const p = Bun.spawn([
    "/usr/bin/python3",
    `${import.meta.dir}/groups/confluent_member.py`,
    String(broker.port),
    group,
    topic,
    strategy,
    String(seconds),
  ], { stdout: "pipe", stderr: "pipe" });
  spawned.add(p);
  const m: Member = { lines: [], assigned: [], values: new Set(), exited: p.exited };
  onJsonLines(p.stdout, (line) => {
    m.lines.push(line);
    if (line.assigned) m.assigned = line.assigned as number[];
    if (typeof line.value === "string") m.values.add(line.value);
  });
  return m;
}

async function produce(topic: string, from: number, n: number) {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
  const p = kafka.producer();
  await p.connect();
  await p.send({
    topic,
    messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })),
  });
  await p.disconnect();
  return Array.from({ length: n }, (_, i) => `v${from + i}`);
}

beforeAll(async () => {
  broker = await testBroker({ "group.initial.rebalance.delay.ms": 200, "group.min.session.timeout.ms": 1000 });
});
afterAll(async () => {
  for (const p of spawned) p.kill(9);
  await broker.close();
});

for (const strategy of ["range", "cooperative-sticky"]) {
  describe(`confluent-kafka (librdkafka 2.0.2), ${strategy}`, () => {
    test("two members split six partitions; one leaves and the other takes over", async () => {
      const topic = `rd-${strategy}`;
      const group = `rd-group-${strategy}`;
      await broker.services.topics.create(topic, 6, new Map());
      const sent = await produce(topic, 0, 60);
      const a = python(strategy, group, topic, 8);
      const b = python(strategy, group, topic, 30);
      await waitFor("both members with three partitions", () => a.assigned.length === 3 && b.assigned.length === 3);
      expect([...a.assigned, ...b.assigned].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      await waitFor("first records", () => sent.every((v) => a.values.has(v) || b.values.has(v)));
      const g = broker.services.groups.group(group)!;
      expect(g.kind === "classic" && g.protocolName).toBe(strategy);
      expect(await a.exited).toBe(0); // closes the consumer: LeaveGroup
      await waitFor("the remaining member owns all six", () => b.assigned.length === 6);
      const more = await produce(topic, 60, 60);
      await waitFor("records after the leave", () => more.every((v) => b.values.has(v)));
      if (strategy === "cooperative-sticky") {
        // Incremental: b never gave up its partitions while a left.
        const sizes = b.lines.filter((l) => l.assigned).map((l) => (l.assigned as number[]).length);
        expect(sizes.includes(0) && sizes.indexOf(0) > sizes.indexOf(3)).toBe(false);
      }
    }, 45_000);
  });
}

describe("kcat -G", () => {
  test("a balanced consumer reads every partition and commits", async () => {
    const topic = "kcat-g";
    await broker.services.topics.create(topic, 3, new Map());
    const sent = await produce(topic, 0, 30);
    const p = Bun.spawn([
      "kcat",
      "-b",
      `127.0.0.1:${broker.port}`,
      "-u",
      "-G",
      "kcat-group",
      topic,
      "-o",
      "beginning",
      "-f",
      "%s\n",
      "-X",
      "session.timeout.ms=6000",
      "-X",
      "auto.commit.interval.ms=100",
    ], { stdout: "pipe", stderr: "pipe" });
    spawned.add(p);
    let out = "";
    (async () => {
      const reader = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        out += value;
      }
    })();
    await waitFor("kcat reads everything", () => sent.every((v) => out.split("\n").includes(v)));
    await Bun.sleep(500); // an auto commit
    const g = broker.services.groups.group("kcat-group")!;
    expect(g.kind === "classic" && g.state).toBe("Stable");
    p.kill(15); // kcat leaves the group on SIGTERM
    await p.exited;
    let committed = 0;
    for (const o of g.offsets.values()) committed += Number(o.offset);
    expect(committed).toBe(30);
  }, 30_000);
});
