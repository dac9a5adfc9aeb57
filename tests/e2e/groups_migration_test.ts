// Online migration with real clients: a classic group of kafkajs (eager round robin) or
// librdkafka (cooperative-sticky, python3-confluent-kafka) consumers is joined by an
// @platformatic/kafka consumer speaking the KIP-848 consumer protocol. The group is upgraded to a
// consumer group, the coordinator spreads the partitions over all three, the classic members keep
// consuming inside it; when the KIP-848 member leaves, the group goes back to the classic protocol.
// No record is lost throughout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Consumer as PkConsumer, MessagesStreamModes, stringDeserializers } from "@platformatic/kafka";
import type { Consumer } from "kafkajs";
import { Kafka, logLevel } from "kafkajs";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { eventually } from "../helpers/consume.ts";
import { onJsonLines } from "../helpers/lines.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

const CONFIG = {
  "group.initial.rebalance.delay.ms": 200,
  "group.min.session.timeout.ms": 1000,
  "group.consumer.heartbeat.interval.ms": 300,
  "group.consumer.session.timeout.ms": 6000,
};
let broker: Broker;
const spawned = new Set<{ kill(signal?: number): void }>();

const kafka = () => new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: "mig", logLevel: logLevel.NOTHING });

const waitFor = (what: string, cond: () => boolean | Promise<boolean>) => eventually(what, cond, 30_000);

async function produce(topic: string, sent: string[], n: number) {
  const p = kafka().producer();
  await p.connect();
  const start = sent.length;
  const messages = Array.from({ length: n }, (_, i) => ({ key: `k${start + i}`, value: `v${start + i}` }));
  await p.send({ topic, messages });
  for (const m of messages) sent.push(m.value);
  await p.disconnect();
}

/** Members of the group and the partitions each holds, whatever protocol the group speaks now. */
function holdings(groupId: string): { kind: string; state: string; sizes: number[] } {
  const g = broker.services.groups.group(groupId);
  if (!g) return { kind: "none", state: "none", sizes: [] };
  if (g.kind === "consumer") {
    return {
      kind: "consumer",
      state: g.state,
      sizes: [...g.members.values()].map((m) => g.assignedOf(m).values().reduce((n, s) => n + s.size, 0)).sort(),
    };
  }
  return { kind: "classic", state: g.state, sizes: [...g.members.values()].map(() => -1) };
}

function pkConsumer(groupId: string, topic: string, received: Set<string>) {
  const c = new PkConsumer({
    clientId: "pk-848",
    groupId,
    groupProtocol: "consumer",
    bootstrapBrokers: [`127.0.0.1:${broker.port}`],
    deserializers: stringDeserializers,
    // @ts-expect-error @platformatic/kafka 2.12's types leave sessionTimeout and heartbeatInterval out of the
    // "consumer" protocol's options, yet its validator still wants rebalanceTimeout >= sessionTimeout (60 s default).
    sessionTimeout: 6000,
    heartbeatInterval: 300,
    rebalanceTimeout: 10000,
    autocommit: 100,
    maxWaitTime: 200,
  });
  const stream = c.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: "earliest" } as never)
    .then((s) => {
      s.on("data", (m: { value: string }) => void received.add(m.value));
      return s;
    });
  return { c, stream };
}

beforeAll(async () => {
  broker = await testBroker(CONFIG);
});
afterAll(async () => {
  for (const p of spawned) p.kill(9);
  await broker.close();
});

const isClassicPair = (groupId: string) => () => {
  const h = holdings(groupId);
  return h.kind === "classic" && h.state === "Stable" && h.sizes.length === 2;
};

/**
 * The classic members are running: wait for their Stable group, add the KIP-848 member (upgrade,
 * 2/2/2), take it away again (downgrade); `n` new records at each stage, all of them received.
 */
async function upgradeAndDowngrade(groupId: string, topic: string, sent: string[], received: Set<string>, n: number) {
  await waitFor("a Stable classic group of two", isClassicPair(groupId));
  await waitFor("the first records", () => sent.every((v) => received.has(v)));
  const pk = pkConsumer(groupId, topic, received);
  await waitFor("the upgraded group spreads six partitions over three members", () => {
    const h = holdings(groupId);
    return h.kind === "consumer" && h.state === "Stable" && h.sizes.join() === "2,2,2";
  });
  const g = broker.services.groups.group(groupId)!;
  expect(g.kind === "consumer" && [...g.members.values()].filter((m) => m.classic).length).toBe(2);
  await produce(topic, sent, n);
  await waitFor("records while mixed", () => sent.every((v) => received.has(v)));
  await (await pk.stream).close();
  await pk.c.close();
  await waitFor("back to a Stable classic group of two", isClassicPair(groupId));
  await produce(topic, sent, n);
  await waitFor("records after the downgrade", () => sent.every((v) => received.has(v)));
}

describe("online migration with real clients", () => {
  test("kafkajs classic members, then an @platformatic/kafka KIP-848 member joins and leaves", async () => {
    const topic = "mig-kjs";
    const groupId = "mig-kjs-group";
    await broker.services.topics.create(topic, 6, new Map());
    const sent: string[] = [];
    const received = new Set<string>();
    await produce(topic, sent, 120);
    const classics: Consumer[] = [];
    for (let i = 0; i < 2; i++) {
      const c = kafka().consumer({
        groupId,
        sessionTimeout: 6000,
        heartbeatInterval: 300,
        rebalanceTimeout: 10000,
        maxWaitTimeInMs: 200,
      });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void received.add(String(message.value)) });
      classics.push(c);
    }
    await upgradeAndDowngrade(groupId, topic, sent, received, 120);
    for (const c of classics) await c.disconnect();
  }, 90_000);

  test(
    "librdkafka cooperative-sticky members, then an @platformatic/kafka KIP-848 member joins and leaves",
    async () => {
      const topic = "mig-rd";
      const groupId = "mig-rd-group";
      await broker.services.topics.create(topic, 6, new Map());
      const sent: string[] = [];
      const received = new Set<string>();
      await produce(topic, sent, 60);
      const members = [0, 1].map(() => {
        const p = Bun.spawn([
          "/usr/bin/python3",
          `${import.meta.dir}/groups/confluent_member.py`,
          String(broker.port),
          groupId,
          topic,
          "cooperative-sticky",
          "60",
        ], { stdout: "pipe", stderr: "pipe" });
        spawned.add(p);
        onJsonLines(p.stdout, (line) => {
          if (typeof line.value === "string") received.add(line.value);
        });
        return p;
      });
      await upgradeAndDowngrade(groupId, topic, sent, received, 60);
      for (const p of members) p.kill(15);
    },
    90_000,
  );
});
