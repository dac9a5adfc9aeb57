// The HTTP side: health, readiness, Prometheus metrics and the read-only admin view, in process
// (Bun.serve) and under every runtime (Bun.serve, Deno.serve, node:http, the binary).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { httpBase, startHttpBroker } from "../helpers/http.ts";
import { createTopics, quietKafka } from "../helpers/kafkajs.ts";
import { WireClient } from "../helpers/wire_client.ts";
import type { BrokerProcess } from "../e2e/harness.ts";
import { RUNTIMES, startBrokerProcess } from "../e2e/harness.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

let broker: Broker & { lines: string[] };
let base: string;
beforeAll(async () => {
  ({ broker, base } = await startHttpBroker({ "group.initial.rebalance.delay.ms": 0 }));
});
afterAll(async () => {
  await broker.close();
});

describe("HTTP side", () => {
  test("health, readiness, cluster", async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: "ok" });
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const cluster = await (await fetch(`${base}/v1/cluster`)).json();
    expect(cluster).toMatchObject({
      clusterId: broker.services.clusterId,
      brokerId: 0,
      securityProtocol: "PLAINTEXT",
      runtime: "bun",
    });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  test("metrics, topics and group lag follow what clients do", async () => {
    const kafka = quietKafka(broker.port, "http-test");
    await createTopics(kafka, [{ topic: "web", numPartitions: 2 }]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: "web",
      messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
    });
    await producer.disconnect();
    const c = await WireClient.connect(broker.port);
    const commit = await c.send(OffsetCommit, 2, {
      groupId: "web-group",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{
        name: "web",
        topicId: ZERO_UUID,
        partitions: [0, 1].map((p) => ({
          partitionIndex: p,
          committedOffset: p === 0 ? 2n : 5n,
          committedLeaderEpoch: -1,
          commitTimestamp: -1n,
          committedMetadata: "",
        })),
      }],
    });
    c.close();
    expect(commit.topics![0].partitions!.map((p) => p.errorCode)).toEqual([0, 0]);

    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (line: string) => Number(text.split("\n").find((l) => l.startsWith(line))?.split(" ").pop());
    expect(value('chronik_requests_total{api="Produce"}')).toBeGreaterThanOrEqual(1);
    expect(value('chronik_requests_total{api="CreateTopics"}')).toBe(1);
    expect(value('chronik_network_bytes_total{direction="in"}')).toBeGreaterThan(500);
    expect(value('chronik_partition_log_end_offset{topic="web",partition="0"}')).toBe(5);
    expect(value('chronik_consumer_group_lag{group="web-group",topic="web",partition="0"}')).toBe(3);
    expect(value('chronik_consumer_group_lag{group="web-group",topic="web",partition="1"}')).toBe(0);
    expect(value("chronik_connections_total")).toBeGreaterThanOrEqual(2);
    // Every sample belongs to the family announced just before it.
    let family = "";
    for (const l of text.trim().split("\n")) {
      if (l.startsWith("# TYPE ")) family = l.split(" ")[2];
      else if (!l.startsWith("#")) expect(l.startsWith(family)).toBe(true);
    }

    const topics = await (await fetch(`${base}/v1/topics`)).json();
    expect(topics.find((t: { name: string }) => t.name === "web")).toMatchObject({ partitions: 2, internal: false });
    expect(await (await fetch(`${base}/v1/topics/web`)).json()).toMatchObject({
      partitions: [{ partition: 0, logEndOffset: 5 }, { partition: 1, logEndOffset: 5 }],
    });
    expect((await fetch(`${base}/v1/topics/missing`)).status).toBe(404);
    const group = await (await fetch(`${base}/v1/groups/web-group`)).json();
    expect(group.offsets.map((o: { partition: number; lag: number }) => [o.partition, o.lag]).sort()).toEqual([[0, 3], [
      1,
      0,
    ]]);
    expect((await fetch(`${base}/v1/groups/none`)).status).toBe(404);
  }, 30_000);
});

for (const kind of RUNTIMES) {
  describe(`${kind} broker, HTTP side`, () => {
    let b: BrokerProcess;
    beforeAll(async () => {
      b = await startBrokerProcess(kind, ["--http-port", "0"]);
    }, 120_000); // the first Node or binary start builds dist/
    afterAll(async () => {
      expect(await b.stop()).toBe(0);
    }, 20_000);

    test("health and metrics", async () => {
      const url = await httpBase(() => b.logs());
      expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: "ok" });
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toContain("chronik_up 1");
      // CPU and RSS through each adapter's Runtime.processStats; GC time where the runtime reports it (Node).
      const value = (name: string) => Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ")[1]);
      expect(value("process_cpu_seconds_total")).toBeGreaterThan(0);
      expect(value("process_resident_memory_bytes")).toBeGreaterThan(1 << 20);
      expect(text.includes("chronik_gc_seconds_total ")).toBe(kind === "node");
      expect(value("kafka_server_replicamanager_underreplicatedpartitions")).toBe(0);
      expect((await (await fetch(`${url}/v1/cluster`)).json()).runtime).toBe(
        kind === "node" ? "node" : kind === "deno" ? "deno" : "bun",
      );
    }, 20_000);
  });
}
