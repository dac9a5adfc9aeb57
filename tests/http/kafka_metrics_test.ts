// /metrics under the JMX exporter's Kafka names: kafkajs produces and consumes, the scrape shows request
// latency per request type, bytes and records per topic, partition health and the process's CPU and RSS,
// and the counters move with more traffic.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { kafkajsValues } from "../helpers/consume.ts";
import { createTopics, quietKafka } from "../helpers/kafkajs.ts";
import { startHttpBroker } from "../helpers/http.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker & { lines: string[] };
let base: string;
beforeAll(async () => {
  ({ broker, base } = await startHttpBroker({ "group.initial.rebalance.delay.ms": 0 }));
});
afterAll(async () => {
  await broker.close();
});

/** One scrape: the value of the sample written exactly as `series`, or undefined. */
async function scrape(): Promise<{ text: string; value: (series: string) => number | undefined }> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const l of text.split("\n")) {
    if (l === "" || l.startsWith("#")) continue;
    const i = l.lastIndexOf(" ");
    samples.set(l.slice(0, i), Number(l.slice(i + 1)));
  }
  return { text, value: (series) => samples.get(series) };
}

describe("Kafka-named metrics", () => {
  test("produce and fetch with kafkajs move latency, bytes and records; health and process gauges", async () => {
    const kafka = quietKafka(broker.port, "metrics");
    await createTopics(kafka, [{ topic: "dash", numPartitions: 2 }, { topic: "quiet", numPartitions: 1 }]);
    const producer = kafka.producer();
    await producer.connect();
    const send = (from: number, n: number) =>
      producer.send({
        topic: "dash",
        messages: Array.from({ length: n }, (_, i) => ({ value: `value-${from + i}`, partition: i % 2 })),
      });
    await send(0, 20);

    const a = await scrape();
    const bytesIn = a.value('kafka_server_brokertopicmetrics_bytesin_total{topic="dash"}')!;
    expect(bytesIn).toBeGreaterThan(20 * "value-00".length);
    expect(a.value('kafka_server_brokertopicmetrics_messagesin_total{topic="dash"}')).toBe(20);
    expect(a.value('kafka_server_brokertopicmetrics_bytesin_total{topic="quiet"}')).toBe(0);
    expect(a.value("kafka_server_brokertopicmetrics_bytesin_total")).toBe(bytesIn); // all topics
    expect(a.value('kafka_server_brokertopicmetrics_bytesout_total{topic="dash"}')).toBe(0);
    // Produce: kafkajs sends v7, one request for both partitions.
    expect(a.value('kafka_network_requestmetrics_requests_total{request="Produce",version="7"}')).toBe(1);
    expect(a.value('kafka_network_requestmetrics_totaltimems_count{request="Produce"}')).toBe(1);
    const p99 = a.value('kafka_network_requestmetrics_totaltimems{request="Produce",quantile="0.99"}')!;
    const p50 = a.value('kafka_network_requestmetrics_totaltimems{request="Produce",quantile="0.50"}')!;
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeGreaterThanOrEqual(p50);
    expect(a.value('chronik_request_duration_seconds_count{api="Produce"}')).toBe(1);
    expect(a.value('chronik_request_duration_seconds_bucket{api="Produce",le="+Inf"}')).toBe(1);
    expect(a.value('chronik_request_duration_seconds_sum{api="Produce"}')).toBeGreaterThan(0);
    expect(a.text).toContain("# TYPE chronik_request_duration_seconds histogram");
    expect(a.value('kafka_network_requestmetrics_totaltimems_count{request="Metadata"}')).toBeGreaterThanOrEqual(1);
    // Partition health: nothing under-replicated or offline; this single broker is the controller.
    expect(a.value("kafka_server_replicamanager_underreplicatedpartitions")).toBe(0);
    expect(a.value("kafka_controller_kafkacontroller_offlinepartitionscount")).toBe(0);
    expect(a.value("kafka_controller_kafkacontroller_activecontrollercount")).toBe(1);
    expect(a.value("kafka_server_replicamanager_partitioncount")).toBeGreaterThanOrEqual(3);
    expect(a.value("kafka_server_replicamanager_leadercount")).toBe(
      a.value("kafka_server_replicamanager_partitioncount"),
    );
    // The process, through the runtime port (Bun here: no GC time).
    expect(a.value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(a.value("process_resident_memory_bytes")).toBeGreaterThan(1 << 20);
    // The chronik_* series stay.
    expect(a.value('chronik_requests_total{api="Produce"}')).toBe(1);

    expect((await kafkajsValues(kafka, "dash", "dash-readers", 20)).length).toBe(20);
    await send(20, 10);

    const b = await scrape();
    const bytesOut = b.value('kafka_server_brokertopicmetrics_bytesout_total{topic="dash"}')!;
    expect(bytesOut).toBeGreaterThanOrEqual(bytesIn); // the 20 records read back, whole batches
    expect(b.value("kafka_server_brokertopicmetrics_bytesout_total")).toBe(bytesOut);
    expect(b.value('kafka_server_brokertopicmetrics_bytesin_total{topic="dash"}')).toBeGreaterThan(bytesIn);
    expect(b.value('kafka_server_brokertopicmetrics_messagesin_total{topic="dash"}')).toBe(30);
    expect(b.value("kafka_server_brokertopicmetrics_messagesin_total")).toBe(30);
    expect(b.value('kafka_network_requestmetrics_totaltimems_count{request="Produce"}')).toBe(2);
    // A Fetch is labelled both ways, as Kafka's RequestMetrics do.
    const fetches = b.value('kafka_network_requestmetrics_totaltimems_count{request="Fetch"}')!;
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(b.value('kafka_network_requestmetrics_totaltimems_count{request="FetchConsumer"}')).toBe(fetches);
    expect(b.value('kafka_network_requestmetrics_totaltimems{request="FetchConsumer",quantile="0.999"}'))
      .toBeGreaterThan(0);
    expect(b.value("process_cpu_seconds_total")).toBeGreaterThanOrEqual(a.value("process_cpu_seconds_total")!);
    await producer.disconnect();

    // Every sample belongs to the family announced just before it; histogram buckets never decrease.
    let family = "";
    let last = -1;
    for (const l of b.text.trim().split("\n")) {
      if (l.startsWith("# TYPE ")) family = l.split(" ")[2];
      else if (!l.startsWith("#")) expect(l.startsWith(family)).toBe(true);
      if (l.startsWith('chronik_request_duration_seconds_bucket{api="Fetch"')) {
        const v = Number(l.split(" ").pop());
        expect(v).toBeGreaterThanOrEqual(last);
        last = v;
      }
    }
    expect(last).toBe(fetches);
  }, 60_000);
});
