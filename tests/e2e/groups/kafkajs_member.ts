// A kafkajs group member in its own process, so a test can kill it (SIGKILL: no LeaveGroup).
// Usage: bun kafkajs_member.ts <port> <group> <topic>; prints one JSON line per record.
import { Kafka, logLevel } from "kafkajs";

const [port, groupId, topic] = process.argv.slice(2);
const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: "member-child", logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: 3000,
  heartbeatInterval: 300,
  rebalanceTimeout: 15000,
  maxWaitTimeInMs: 200,
});
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
consumer.on(
  consumer.events.GROUP_JOIN,
  (e) => console.log(JSON.stringify({ joined: e.payload.memberAssignment[topic] ?? [] })),
);
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    console.log(JSON.stringify({ partition, offset: message.offset, value: String(message.value) }));
  },
});
