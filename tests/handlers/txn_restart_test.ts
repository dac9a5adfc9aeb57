// Producer state and transaction coordinator state survive restarts (file engine): duplicates are
// still recognised, open transactions are still open, and a commit caught between PrepareCommit and
// its markers is finished after the restart with markers written exactly once.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { DescribeTransactions } from "../../src/protocol/messages/65_describe_transactions.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { startBrokerProcess } from "../e2e/harness.ts";
import { testBroker } from "../helpers/broker.ts";
import { readPartition } from "../helpers/read.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const enc = new TextEncoder();
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(`${tmpdir()}/chronik-txn-`);
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const batch = (v: string, producerId: bigint, producerEpoch: number, baseSequence: number, transactional = false) =>
  buildRecordBatch({
    records: [{ key: null, value: enc.encode(v) }],
    producerId,
    producerEpoch,
    baseSequence,
    transactional,
  });

async function produce(c: WireClient, topic: string, records: Uint8Array, transactionalId: string | null = null) {
  const r = await c.send(Produce, 9, {
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: 0, records }] }],
  });
  return r.responses![0].partitionResponses![0];
}
const createTopic = (c: WireClient, name: string) =>
  c.send(CreateTopics, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });

describe("idempotent producer state across restarts", () => {
  test("a clean restart keeps the sequence window (snapshot)", async () => {
    const dataDir = tempDir();
    let b = await testBroker({ dataDir });
    let c = await WireClient.connect(b.port);
    await createTopic(c, "idem");
    const { producerId } = await c.send(InitProducerId, 4, initProducerIdRequest(null, 0));
    for (let i = 0; i < 3; i++) {
      expect((await produce(c, "idem", batch(`v${i}`, producerId!, 0, i))).baseOffset).toBe(BigInt(i));
    }
    c.close();
    await b.close();

    b = await testBroker({ dataDir });
    c = await WireClient.connect(b.port);
    const dup = await produce(c, "idem", batch("v2", producerId!, 0, 2));
    expect(dup.errorCode).toBe(0);
    expect(dup.baseOffset).toBe(2n);
    expect((await produce(c, "idem", batch("gap", producerId!, 0, 9))).errorCode).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    expect((await produce(c, "idem", batch("v3", producerId!, 0, 3))).baseOffset).toBe(3n);
    expect(b.services.topics.get("idem")!.partitions[0].logEndOffset).toBe(4);
    c.close();
    await b.close();
  });

  test("after SIGKILL the window is rebuilt from the log", async () => {
    const dataDir = tempDir();
    let p = await startBrokerProcess("bun", [
      "--data-dir",
      dataDir,
      "-o",
      "chronik.producer.snapshot.interval.ms=3600000",
    ]);
    let c = await WireClient.connect(p.port);
    await createTopic(c, "idem");
    const { producerId } = await c.send(InitProducerId, 4, initProducerIdRequest(null, 0));
    for (let i = 0; i < 5; i++) await produce(c, "idem", batch(`v${i}`, producerId!, 0, i));
    c.close();
    p.proc.kill(9);
    await p.proc.exited;

    p = await startBrokerProcess("bun", ["--data-dir", dataDir]);
    c = await WireClient.connect(p.port);
    const dup = await produce(c, "idem", batch("v4", producerId!, 0, 4));
    expect(dup.errorCode).toBe(0);
    expect(dup.baseOffset).toBe(4n);
    expect((await produce(c, "idem", batch("v5", producerId!, 0, 5))).baseOffset).toBe(5n);
    const values = (await readPartition(p.port, "idem", 0)).map((r) => r.value);
    expect(values).toEqual(["v0", "v1", "v2", "v3", "v4", "v5"]);
    c.close();
    expect(await p.stop()).toBe(0);
  });
});

describe("transaction coordinator across restarts", () => {
  test("an open transaction stays open and commits after a restart", async () => {
    const dataDir = tempDir();
    let b = await testBroker({ dataDir });
    let c = await WireClient.connect(b.port);
    await createTopic(c, "tx");
    const init = await c.send(InitProducerId, 4, initProducerIdRequest("app", 60000));
    const pid = init.producerId!;
    const epoch = init.producerEpoch!;
    await c.send(AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: "app",
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{ name: "tx", partitions: [0] }],
    });
    expect((await produce(c, "tx", batch("t0", pid, epoch, 0, true), "app")).errorCode).toBe(0);
    c.close();
    await b.close();

    b = await testBroker({ dataDir });
    c = await WireClient.connect(b.port);
    const d = await c.send(DescribeTransactions, 0, { transactionalIds: ["app"] });
    expect(d.transactionStates![0].transactionState).toBe("Ongoing");
    expect(d.transactionStates![0].topics).toEqual([{ topic: "tx", partitions: [0] }]);
    expect((await readPartition(b.port, "tx", 0, 1)).length).toBe(0); // LSO held by the open transaction
    expect(
      (await c.send(EndTxn, 3, { transactionalId: "app", producerId: pid, producerEpoch: epoch, committed: true }))
        .errorCode,
    ).toBe(0);
    expect((await readPartition(b.port, "tx", 0, 1)).map((r) => (r.control ? "marker" : r.value))).toEqual([
      "t0",
      "marker",
    ]);
    // A new producer id never collides with one handed out before the restart.
    const other = await c.send(InitProducerId, 4, initProducerIdRequest("other", 60000));
    expect(other.producerId! > pid).toBe(true);
    c.close();
    await b.close();
  });

  test("a commit interrupted after PrepareCommit completes after the restart, markers exactly once", async () => {
    const dataDir = tempDir();
    let b = await testBroker({ dataDir });
    let c = await WireClient.connect(b.port);
    await createTopic(c, "tx2");
    const init = await c.send(InitProducerId, 4, initProducerIdRequest("app2", 60000));
    const pid = init.producerId!;
    const epoch = init.producerEpoch!;
    await c.send(AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: "app2",
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{ name: "tx2", partitions: [0] }],
    });
    await produce(c, "tx2", batch("data", pid, epoch, 0, true), "app2");
    // What a crash right after storing PrepareCommit leaves behind: the decision, no markers yet.
    const prepare = JSON.stringify({
      v: 1,
      producerId: String(pid),
      producerEpoch: epoch,
      timeoutMs: 60000,
      state: "PrepareCommit",
      partitions: [["tx2", 0]],
      groups: [],
      offsets: [],
      startTimestamp: Date.now(),
      lastUpdate: Date.now(),
    });
    await c.send(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{
        name: "__transaction_state",
        topicId: ZERO_UUID,
        partitionData: [{
          index: 0,
          records: buildRecordBatch({ records: [{ key: enc.encode("app2"), value: enc.encode(prepare) }] }),
        }],
      }],
    });
    c.close();
    await b.close();

    for (let restart = 0; restart < 2; restart++) {
      b = await testBroker({ dataDir });
      const recs = await readPartition(b.port, "tx2", 0, 1);
      expect(recs.map((r) => (r.control ? "marker" : r.value))).toEqual(["data", "marker"]);
      c = await WireClient.connect(b.port);
      const d = await c.send(DescribeTransactions, 0, { transactionalIds: ["app2"] });
      expect(d.transactionStates![0].transactionState).toBe("CompleteCommit");
      c.close();
      await b.close();
    }
  });
});
