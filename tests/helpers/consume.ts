// Reading a topic back with real clients' group consumers, for end-to-end tests.
import type { Kafka } from "kafkajs";
import { consumeCount } from "./kafkajs.ts";

/** kafkajs: a group consumer from the beginning until `n` values arrived (throws after 15 s); the values in order. */
export async function kafkajsValues(kafka: Kafka, topic: string, groupId: string, n: number): Promise<string[]> {
  return (await consumeCount(kafka, topic, n, groupId, 15_000)).map((r) => String(r.message.value));
}

/** Polls `cond` every 50 ms for at most `ms`. */
export async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await Bun.sleep(50);
}

/** Polls `cond` every 100 ms; throws "timed out waiting for `what`" after `ms`. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}
