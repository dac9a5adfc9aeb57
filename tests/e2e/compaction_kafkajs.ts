// Compaction with real clients, on a broker over files (file_compaction_test.ts), PostgreSQL
// (postgres_compaction_test.ts) or PostgreSQL with record data in S3 (postgres_objects_compaction_test.ts): kafkajs
// produces keys, updates and tombstones (and a transaction it aborts, then one it commits) to a compacted topic; the
// broker's cleaner (log.cleaner.backoff.ms) compacts it; kcat reads back the latest value of each key at its original
// offset, the tombstone and the aborted transaction's marker gone once past their delete horizon (KIP-534), the same
// with read_committed and read_uncommitted, and a kafkajs group (its offsets in the compacted __consumer_offsets)
// reads the same.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "./harness.ts";
import { kcat } from "../helpers/kcat.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

/**
 * The test below on the broker `start` gives (with log.cleaner.backoff.ms=1000); `after` checks more once
 * everything was read back.
 */
export function compactionWithKafkajs(
  start: () => Promise<{ broker: BrokerProcess; close(): void | Promise<void> }>,
  after?: () => Promise<void>,
): void {
  let broker: BrokerProcess;
  let close: (() => void | Promise<void>) | undefined;
  beforeAll(async () => {
    const s = await start();
    broker = s.broker;
    close = s.close;
  }, 60_000);
  afterAll(async () => {
    await broker?.stop().catch(() => {});
    await close?.();
  });

  test(
    "kafkajs writes keys, updates, tombstones and an aborted transaction; the cleaner compacts; kcat reads the latest per key",
    async () => {
      const addr = `127.0.0.1:${broker.port}`;
      const kafka = new Kafka({ brokers: [addr], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{
          topic: "table",
          numPartitions: 1,
          configEntries: [
            { name: "cleanup.policy", value: "compact" },
            { name: "min.cleanable.dirty.ratio", value: "0.01" },
            { name: "delete.retention.ms", value: "0" },
            // The file engine cleans rolled segments only: one batch per segment.
            { name: "internal.segment.bytes", value: "100" },
          ],
        }],
      });
      await admin.disconnect();
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      const send = (key: string, value: string | null) => producer.send({ topic: "table", messages: [{ key, value }] });
      for (let round = 0; round < 3; round++) {
        for (const k of ["a", "b", "c", "d"]) await send(k, `${k}${round}`); // offsets 0-11
      }
      await send("b", null); // 12: b deleted
      await send("c", "c-final"); // 13
      await producer.disconnect();
      const txp = kafka.producer({ transactionalId: "tx-compact", maxInFlightRequests: 1, idempotent: true });
      await txp.connect();
      const tx = await txp.transaction();
      await tx.send({ topic: "table", messages: [{ key: "a", value: "aborted" }] }); // 14
      await tx.abort(); // 15: marker
      // The same producer commits another transaction: the abort marker is no longer its last batch, so it may go.
      const tx2 = await txp.transaction();
      await tx2.send({ topic: "table", messages: [{ key: "t", value: "committed" }] }); // 16
      await tx2.commit(); // 17: marker
      await txp.disconnect();
      const head = kafka.producer();
      await head.connect();
      await head.send({ topic: "table", messages: [{ key: "z", value: "head" }] }); // 18: the last batch, never cleaned
      await head.disconnect();

      // The cleaner runs every second on the partitions this broker leads. The first pass drops the shadowed records
      // and the aborted one, keeps the tombstone of b and sets its delete horizon (KIP-534: now + delete.retention.ms);
      // the next drops the tombstone and gives the abort marker, now without data, a horizon; the one after drops it.
      const expected = "8:a=a2\n11:d=d2\n13:c=c-final\n16:t=committed\n18:z=head\n";
      const committed = () => kcat(["-b", addr, "-C", "-t", "table", "-e", "-q", "-f", "%o:%k=%s\n", "-Z"]);
      let read = "";
      for (let i = 0; i < 150; i++) {
        read = await committed();
        if (read === expected && /table-0: .*1 transaction marker\(s\) removed/.test(broker.logs())) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(read).toBe(expected);
      expect(broker.logs()).toMatch(/table-0: .*1 transaction marker\(s\) removed/);
      // read_committed (librdkafka's default) and read_uncommitted agree: the aborted record and its marker are gone.
      const raw = await kcat([
        "-b",
        addr,
        "-C",
        "-t",
        "table",
        "-e",
        "-q",
        "-f",
        "%o:%k=%s\n",
        "-Z",
        "-X",
        "isolation.level=read_uncommitted",
      ]);
      expect(raw).toBe(read);
      // kafkajs from the beginning sees the same, offsets as produced.
      const consumer = kafka.consumer({ groupId: "compact-reader" });
      await consumer.connect();
      await consumer.subscribe({ topic: "table", fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve) => {
        consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(`${message.offset}:${message.key}=${message.value}`);
            if (message.offset === "18") resolve();
          },
        });
      });
      await consumer.disconnect();
      expect(seen).toEqual(["8:a=a2", "11:d=d2", "13:c=c-final", "16:t=committed", "18:z=head"]);
      await after?.();
    },
    // Up to 150 polls of kcat (each a process start: ~1 s under a loaded machine's parallel test workers) and a group join.
    180_000,
  );
}
