// Config changes take effect: Produce limits and timestamps, min.insync.replicas, and retention
// driven by a dynamic broker default (file engine).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import type { FileLogStore } from "../../src/storage/file.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const dir = mkdtempSync(join(tmpdir(), "chronik-effect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const enc = new TextEncoder();

test("altered configs change what Produce and retention do", async () => {
  const broker = await testBroker({ dataDir: dir });
  const c = await WireClient.connect(broker.port);
  try {
    await c.send(CreateTopics, 7, {
      topics: [{ name: "fx", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const set = (resourceType: number, resourceName: string, name: string, value: string | null, op = 0) =>
      c.send(IncrementalAlterConfigs, 1, {
        resources: [{ resourceType, resourceName, configs: [{ name, configOperation: op, value }] }],
        validateOnly: false,
      });
    const produce = async (acks = -1, size = 10) => {
      const records = buildRecordBatch({
        records: [{ key: null, value: enc.encode("x".repeat(size)), timestamp: 1000 }],
      });
      const r = await c.send(Produce, 9, {
        transactionalId: null,
        acks,
        timeoutMs: 1000,
        topicData: [{ name: "fx", topicId: ZERO_UUID, partitionData: [{ index: 0, records }] }],
      });
      return r.responses![0].partitionResponses![0];
    };
    expect((await produce()).errorCode).toBe(0);

    await set(4, "", "message.max.bytes", "200");
    expect((await produce(-1, 500)).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    await set(2, "fx", "max.message.bytes", "100000");
    expect((await produce(-1, 500)).errorCode).toBe(0);

    await set(2, "fx", "message.timestamp.type", "LogAppendTime");
    const lat = await produce();
    expect(lat.logAppendTimeMs).toBeGreaterThan(1000n);

    await set(4, "", "min.insync.replicas", "2");
    expect((await produce(-1)).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect((await produce(1)).errorCode).toBe(0);
    await set(4, "", "min.insync.replicas", null, 1);
    expect((await produce(-1)).errorCode).toBe(0);

    // Small segments, then a cluster-wide retention of 1 ms: old segments go. The file engine
    // re-reads a partition's configs at most once a second.
    await set(2, "fx", "internal.segment.bytes", "100");
    await Bun.sleep(1100);
    for (let i = 0; i < 5; i++) expect((await produce()).errorCode).toBe(0);
    const log = broker.services.topics.get("fx")!.partitions[0];
    expect(log.logStartOffset).toBe(0);
    await set(4, "", "log.retention.ms", "1");
    await Bun.sleep(1100);
    await (broker.services.store as FileLogStore).runRetention();
    expect(log.logStartOffset).toBeGreaterThan(0);
  } finally {
    c.close();
    await broker.close();
  }
});
