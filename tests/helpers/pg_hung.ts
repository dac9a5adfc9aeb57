// PostgreSQL hung (SIGSTOP) under idempotent acks=all load, the same for every engine that keeps its index in
// PostgreSQL (`--storage postgres://…`, with or without `chronik.object.store`): the broker, started with
// `chronik.postgres.request.timeout.ms=1000`, answers a kcat produce without retries with KAFKA_STORAGE_ERROR
// (not a client timeout); PostgreSQL wakes for new connections first, so kafkajs' retries are stored before the
// writes given up on run (the old connections' backends wake last, each refused by its partition's log-end
// check); then every acknowledged record is read back exactly once, in order, and the probe at most once.
import { expect } from "bun:test";
import type { BrokerProcess } from "../e2e/harness.ts";
import { createTopics, retryingKafka } from "./kafkajs.ts";
import { kcatRead, kcatRun } from "./kcat.ts";
import type { TestPostgres } from "./postgres.ts";

/**
 * Runs the hung-PostgreSQL scenario against `b` (any PostgreSQL engine; its request timeout 1000 ms) on topic
 * `hung` (created here, 2 partitions): `warm` records before the hang, the rest up to 100 while it hangs, 20
 * after. Asserts all of the above; leaves `b` running and `pg` resumed.
 */
export async function hungPostgresUnderLoad(
  b: BrokerProcess,
  pg: TestPostgres,
  opts: { clientId: string; warm: number },
): Promise<void> {
  const k = retryingKafka(b, opts.clientId);
  await createTopics(k, [{ topic: "hung", numPartitions: 2 }]);
  const producer = k.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  const send = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      await producer.send({ topic: "hung", acks: -1, messages: [{ partition: i % 2, value: `m${i}` }] });
      acked.push(`${i % 2}:m${i}`);
    }
  };
  await send(0, opts.warm);
  const during = send(opts.warm, 100); // kafkajs retries while PostgreSQL hangs; writes in flight run when it wakes
  await Bun.sleep(50);
  pg.pause();
  try {
    // librdkafka without retries: the broker's answer, not its own message timeout (20 s).
    const noRetries = ["-X", "message.send.max.retries=0", "-X", "message.timeout.ms=20000"];
    const { code, err } = await kcatRun(
      ["-b", `127.0.0.1:${b.port}`, "-P", "-t", "hung", "-p", "0", "-X", "acks=all", ...noRetries],
      "probe\n",
    );
    expect(code).not.toBe(0);
    expect(err).toContain("Broker: Disk error"); // KAFKA_STORAGE_ERROR, retriable
    expect(b.logs()).toMatch(/no reply within 1000 ms|no answer within 1000 ms/);
    // New connections are served: the retries are stored while the writes given up on still wait in their
    // backends; those run last, when the rest wakes (each is refused: its partition's log end moved).
    pg.resume("new connections");
    const mark = acked.length;
    for (let i = 0; i < 150 && acked.length < mark + 10; i++) await Bun.sleep(100);
  } finally {
    pg.resume();
  }
  await during;
  await send(100, 120);
  await producer.disconnect();
  // The probe was not acknowledged, but its write may have run once PostgreSQL woke (outcome unknown).
  for (const p of [0, 1]) {
    const out = await kcatRead(`127.0.0.1:${b.port}`, "hung", p);
    const got = out.split("\n").filter((v) => v !== "" && v !== "probe").map((v) => `${p}:${v}`);
    expect(got).toEqual(acked.filter((a) => a.startsWith(`${p}:`)));
    expect(out.split("\n").filter((v) => v === "probe").length).toBeLessThanOrEqual(p === 0 ? 1 : 0);
  }
  expect(acked.length).toBe(120);
}
