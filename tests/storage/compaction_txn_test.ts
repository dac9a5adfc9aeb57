// Compaction with transactions: aborted data is removed and never shadows a key, committed data is
// compacted like any other, and nothing from the first still-open transaction on is cleaned.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import type { FileLogStore } from "../../src/storage/file.ts";
import { testBroker } from "../helpers/broker.ts";
import { readPartition } from "../helpers/read.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const dir = mkdtempSync(`${tmpdir()}/chronik-compact-txn-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const enc = new TextEncoder();

test("aborted transactional records are compacted away; open transactions are left alone", async () => {
  const b = await testBroker({ dataDir: dir, "log.cleaner.backoff.ms": 100000 });
  const c = await WireClient.connect(b.port);
  await c.send(CreateTopics, 7, {
    topics: [{
      name: "ctx",
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: "cleanup.policy", value: "compact" }, { name: "internal.segment.bytes", value: "250" }],
    }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  const seqs = new Map<bigint, number>();
  const send = async (kv: [string, string][], txn?: { id: string; pid: bigint; epoch: number }) => {
    const pid = txn?.pid ?? -1n;
    const seq = seqs.get(pid) ?? 0;
    if (txn) seqs.set(pid, seq + kv.length);
    const records = buildRecordBatch({
      records: kv.map(([k, v]) => ({ key: enc.encode(k), value: enc.encode(v) })),
      ...(txn ? { producerId: txn.pid, producerEpoch: txn.epoch, baseSequence: seq, transactional: true } : {}),
    });
    const r = await c.send(Produce, 9, {
      transactionalId: txn?.id ?? null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: "ctx", topicId: ZERO_UUID, partitionData: [{ index: 0, records }] }],
    });
    expect(r.responses![0].partitionResponses![0].errorCode).toBe(0);
  };
  const begin = async (id: string) => {
    const init = await c.send(InitProducerId, 4, initProducerIdRequest(id, 60000));
    const t = { id, pid: init.producerId!, epoch: init.producerEpoch! };
    await c.send(AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: id,
      v3AndBelowProducerId: t.pid,
      v3AndBelowProducerEpoch: t.epoch,
      v3AndBelowTopics: [{ name: "ctx", partitions: [0] }],
    });
    return t;
  };
  const end = (t: { id: string; pid: bigint; epoch: number }, committed: boolean) =>
    c.send(EndTxn, 3, { transactionalId: t.id, producerId: t.pid, producerEpoch: t.epoch, committed });

  const a = await begin("A");
  await send([["k1", "a1"]], a);
  await end(a, true);
  const bTxn = await begin("B");
  await send([["k1", "b1"], ["k2", "b2"]], bTxn);
  await end(bTxn, false);
  await send([["k2", "n2"]]);
  for (let i = 0; i < 6; i++) await send([[`fill${i}`, `f${i}`]]);
  const open = await begin("C");
  await send([["k1", "c1"]], open);
  for (let i = 6; i < 12; i++) await send([[`fill${i}`, `f${i}`]]);

  const store = b.services.store as FileLogStore;
  await store.runCompaction(true);
  const values = (await readPartition(b.port, "ctx", 0)).filter((r) => !r.control).map((r) => `${r.key}=${r.value}`);
  expect(values).toContain("k1=a1"); // the aborted b1 does not shadow it
  expect(values).not.toContain("k1=b1");
  expect(values).not.toContain("k2=b2");
  expect(values).toContain("k2=n2");
  expect(values).toContain("k1=c1"); // open: past the cleanable range
  expect(values.filter((v) => v.startsWith("fill")).length).toBe(12);
  c.close();
  await b.close();
});
