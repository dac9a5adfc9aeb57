// kafka-python pinned to old broker versions sends Produce v0-2 with message formats v0/v1 (plain and
// gzip-wrapped); the broker up-converts them to v2 batches and serves them to every client.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { testBroker } from "../helpers/broker.ts";
import { readPartition } from "../helpers/read.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await testBroker();
});
afterAll(() => broker.close());

test("kafka-python with api_version 0.9 / 0.10.1 (magic 0 and 1, gzip) round-trips", async () => {
  const script = `
import sys
from kafka import KafkaProducer
for av, codec in [((0, 9), None), ((0, 10, 1), None), ((0, 10, 1), "gzip")]:
    p = KafkaProducer(bootstrap_servers=sys.argv[1], api_version=av, compression_type=codec)
    for i in range(5):
        p.send("legacy", key=b"k%d" % i, value=("%s-%s-%d" % (av[1], codec, i)).encode(), partition=0)
    p.flush()
    p.close()
`;
  const proc = Bun.spawn(["/usr/bin/python3", "-c", script, `127.0.0.1:${broker.port}`], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`python exited ${code}: ${out}${err}`);
  const recs = await readPartition(broker.port, "legacy", 0);
  expect(recs.map((r) => r.value)).toEqual([
    ...[0, 1, 2, 3, 4].map((i) => `9-None-${i}`),
    ...[0, 1, 2, 3, 4].map((i) => `10-None-${i}`),
    ...[0, 1, 2, 3, 4].map((i) => `10-gzip-${i}`),
  ]);
  expect(recs.map((r) => Number(r.offset))).toEqual([...Array(15).keys()]);
  expect(recs[0].key).toBe("k0");
});
