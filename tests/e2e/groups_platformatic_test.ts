// @platformatic/kafka Consumers in a group, with the classic protocol and with the KIP-848
// consumer protocol (groupProtocol: "consumer", ConsumerGroupHeartbeat v1): three members on six
// partitions, one leaves, the others take over; every record arrives.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { eventually } from "../helpers/consume.ts";

let broker: Broker;
const CONFIG = {
  "group.initial.rebalance.delay.ms": 200,
  "group.min.session.timeout.ms": 1000,
  "group.consumer.heartbeat.interval.ms": 300,
  "group.consumer.session.timeout.ms": 3000,
};

const waitFor = (what: string, cond: () => boolean | Promise<boolean>) => eventually(what, cond, 20_000);

beforeAll(async () => {
  broker = await testBroker(CONFIG);
});
afterAll(async () => {
  await broker.close();
});

for (const groupProtocol of ["classic", "consumer"] as const) {
  describe(`@platformatic/kafka, ${groupProtocol} protocol`, () => {
    test("three members, one leaves, nothing lost", async () => {
      const addr = `127.0.0.1:${broker.port}`;
      const topic = `pk-${groupProtocol}`;
      const groupId = `pk-group-${groupProtocol}`;
      await broker.services.topics.create(topic, 6, new Map());
      const producer = new Producer({ clientId: "pk-prod", bootstrapBrokers: [addr], serializers: stringSerializers });
      const produced: string[] = [];
      const send = async (n: number) => {
        const messages = Array.from(
          { length: n },
          (_, i) => ({ topic, key: `k${produced.length + i}`, value: `v${produced.length + i}` }),
        );
        for (const m of messages) produced.push(m.value);
        await producer.send({ messages });
      };
      await send(120);
      const received = new Set<string>();
      const consumers = [];
      for (let i = 0; i < 3; i++) {
        const c = new Consumer({
          clientId: `pk-${i}`,
          groupId,
          groupProtocol,
          bootstrapBrokers: [addr],
          deserializers: stringDeserializers,
          sessionTimeout: 6000,
          heartbeatInterval: 300,
          rebalanceTimeout: 10000,
          autocommit: 100,
          maxWaitTime: 200,
        });
        const stream = await c.consume(
          { topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: "earliest" } as never,
        );
        stream.on("data", (m: { value: string }) => void received.add(m.value));
        consumers.push({ c, stream });
      }
      const g = () => broker.services.groups.group(groupId);
      const memberCount = () => {
        const group = g();
        if (!group) return 0;
        if (group.kind === "classic") return group.state === "Stable" ? group.members.size : 0;
        return group.state === "Stable" ? group.members.size : 0;
      };
      await waitFor("three members, stable", () => memberCount() === 3);
      await waitFor("first records", () => produced.every((v) => received.has(v)));
      const grp = g()!;
      expect(grp.kind).toBe(groupProtocol);
      if (grp.kind === "consumer") {
        // ConsumerGroupHeartbeat v1: the client made up its member ids (KIP-1082), the coordinator kept them.
        expect([...grp.members.keys()].sort()).toEqual(consumers.map(({ c }) => c.memberId!).sort());
        for (const id of grp.members.keys()) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
      }

      await consumers[0].stream.close();
      await consumers[0].c.close();
      await waitFor("two members after the leave", () => memberCount() === 2);
      await send(120);
      await waitFor("records after the leave", () => produced.every((v) => received.has(v)));
      for (const { stream, c } of consumers.slice(1)) {
        await stream.close();
        await c.close();
      }
      await producer.close();
    }, 40_000);
  });
}
