// The append whose outcome the broker cannot know: PostgreSQL commits it, then the connection breaks
// before the reply arrives. A loopback TCP relay between the broker and a real PostgreSQL cuts the
// connection just as the reply comes back. The idempotent producer's retry must be recognized as a
// duplicate (the produce path replays what landed into the producer state), so the record is stored
// once; and the partition goes on at the right offset.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { createServer, type Server, type Socket, Socket as NetSocket } from "node:net";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { testBroker } from "../helpers/broker.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.destroy());

/** Relays 127.0.0.1:<port> to PostgreSQL; cutNextReply() drops the next server reply and closes both ends. */
function relay(target: number): Promise<{ port: number; cutNextReply(): void; close(): void }> {
  let cut = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new NetSocket();
    sockets.add(client);
    sockets.add(upstream);
    upstream.connect(target, "127.0.0.1");
    client.on("data", (d) => upstream.write(d));
    upstream.on("data", (d) => {
      if (cut) {
        cut = false;
        upstream.destroy();
        client.destroy();
        return;
      }
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as { port: number }).port,
        cutNextReply: () => (cut = true),
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }));
  });
}

test("committed, reply lost: the idempotent retry is a duplicate, stored once", async () => {
  const url = pg.createDatabase("ambiguous");
  const db = url.slice(url.lastIndexOf("/") + 1);
  const r = await relay(pg.port);
  const broker = await testBroker({ storage: `postgres://postgres@127.0.0.1:${r.port}/${db}?pool=1` });
  try {
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${broker.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 500 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "amb", numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: "amb", acks: -1, messages: [{ value: "m0" }] });
    r.cutNextReply();
    await producer.send({ topic: "amb", acks: -1, messages: [{ value: "m1" }] });
    await producer.send({ topic: "amb", acks: -1, messages: [{ value: "m2" }] });
    await producer.disconnect();
    expect(broker.lines.some((l) => /append to amb-0 failed/.test(l))).toBe(true);
    expect(pg.psql("SELECT base_offset FROM chronik_batches WHERE topic = 'amb' ORDER BY base_offset", db).trim())
      .toBe("0\n1\n2");
  } finally {
    await broker.close();
    r.close();
  }
}, 60_000);
