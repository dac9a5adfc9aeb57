// kafkajs group consumers against the in-process broker: three members share a topic of six
// partitions; one leaves (reassignment), one is killed (session timeout, reassignment), the
// broker restarts on the same store and a consumer resumes from the committed offsets. No record
// is lost (delivery is at least once: a killed member's uncommitted records come again).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Consumer } from "kafkajs";
import { Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { testBroker } from "../helpers/broker.ts";
import { eventually } from "../helpers/consume.ts";
import { onJsonLines } from "../helpers/lines.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const CONFIG = { "group.initial.rebalance.delay.ms": 200, "group.min.session.timeout.ms": 1000 };
const TOPIC = "kjs6";
const GROUP = "kjs-group";
const store = memoryLogStore();
let broker: Broker;
const children = new Set<{ kill(signal?: number): void }>();
const received = new Set<string>();
const produced: string[] = [];

const waitFor = (what: string, cond: () => boolean | Promise<boolean>) => eventually(what, cond, 20_000);

function client(port: number) {
  return new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: "kjs-test", logLevel: logLevel.NOTHING });
}

async function produce(port: number, n: number) {
  const p = client(port).producer();
  await p.connect();
  const start = produced.length;
  const messages = Array.from({ length: n }, (_, i) => ({ key: `k${start + i}`, value: `v${start + i}` }));
  for (const m of messages) produced.push(m.value);
  await p.send({ topic: TOPIC, messages });
  await p.disconnect();
}

const assignments = new Map<string, number[]>();
async function member(port: number, name: string): Promise<Consumer> {
  const c = client(port).consumer({
    groupId: GROUP,
    sessionTimeout: 3000,
    heartbeatInterval: 300,
    rebalanceTimeout: 15000,
    maxWaitTimeInMs: 200,
  });
  c.on(c.events.GROUP_JOIN, (e) => assignments.set(name, e.payload.memberAssignment[TOPIC] ?? []));
  await c.connect();
  await c.subscribe({ topic: TOPIC, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void received.add(String(message.value)) });
  return c;
}

async function describeGroup() {
  const admin = client(broker.port).admin();
  await admin.connect();
  const d = (await admin.describeGroups([GROUP])).groups[0];
  await admin.disconnect();
  return d;
}

beforeAll(async () => {
  broker = await testBroker(CONFIG, { store });
  const admin = client(broker.port).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6 }] });
  await admin.disconnect();
});
afterAll(async () => {
  for (const c of children) c.kill(9);
  await broker.close();
  await store.close();
});

describe("kafkajs consumer group", () => {
  test("three members, a leave, a kill, a restart: every record arrives", async () => {
    await produce(broker.port, 300);
    const a = await member(broker.port, "a");
    const b = await member(broker.port, "b");
    const child = Bun.spawn(["bun", `${import.meta.dir}/groups/kafkajs_member.ts`, String(broker.port), GROUP, TOPIC], {
      stdout: "pipe",
      stderr: "inherit",
    });
    children.add(child);
    const childSeen: string[] = [];
    onJsonLines(child.stdout, (line) => {
      if (typeof line.value === "string") {
        received.add(line.value);
        childSeen.push(line.value);
      } else if (line.joined) assignments.set("child", line.joined as number[]);
    });

    await waitFor("three members sharing six partitions", async () => {
      const d = await describeGroup();
      // Assignments arrive per member (the child's over a pipe): wait until all three are of one generation.
      const parts = [...assignments.values()];
      return d.state === "Stable" && d.members.length === 3 && parts.length === 3 && parts.every((p) =>
        p.length === 2
      ) && new Set(parts.flat()).size === 6;
    });
    const all = [...assignments.values()].flat().sort();
    expect(all).toEqual([0, 1, 2, 3, 4, 5]);
    await waitFor("first 300 records", () => produced.every((v) => received.has(v)));

    // A member leaves: the other two take its partitions.
    await a.disconnect();
    assignments.delete("a");
    await waitFor("two members after the leave", async () => {
      const d = await describeGroup();
      return d.state === "Stable" && d.members.length === 2 && [...assignments.values()].every((p) => p.length === 3);
    });
    await produce(broker.port, 300);
    await waitFor("records after the leave", () => produced.every((v) => received.has(v)));
    expect(childSeen.length).toBeGreaterThan(0);

    // A member is killed: no LeaveGroup, its session (3 s) expires, the survivor takes everything.
    child.kill(9);
    await child.exited;
    assignments.delete("child");
    const killedAt = Date.now();
    await produce(broker.port, 300);
    await waitFor("one member after the session timeout", async () => {
      const d = await describeGroup();
      return d.state === "Stable" && d.members.length === 1 && assignments.get("b")?.length === 6;
    });
    expect(Date.now() - killedAt).toBeGreaterThan(2000);
    await waitFor("records after the kill", () => produced.every((v) => received.has(v)));

    // Restart: committed offsets survive; a new consumer resumes where the group left off.
    await b.disconnect();
    await broker.close();
    broker = await testBroker(CONFIG, { store });
    const admin = client(broker.port).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6 }] }); // topics are not persisted by the broker yet
    const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    await admin.disconnect();
    const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
    expect(committed).toBe(900);
    received.clear();
    const before = produced.length;
    await produce(broker.port, 120);
    const c = await member(broker.port, "c");
    await waitFor("records after the restart", () => produced.slice(before).every((v) => received.has(v)));
    await Bun.sleep(300);
    expect(received.size).toBe(120); // nothing before the committed offsets came again
    await c.disconnect();
  }, 60_000);
});
