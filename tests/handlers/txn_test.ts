import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { AddOffsetsToTxn } from "../../src/protocol/messages/25_add_offsets_to_txn.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { TxnOffsetCommit } from "../../src/protocol/messages/28_txn_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { WriteTxnMarkers } from "../../src/protocol/messages/27_write_txn_markers.ts";
import { DescribeProducers } from "../../src/protocol/messages/61_describe_producers.ts";
import { DescribeTransactions } from "../../src/protocol/messages/65_describe_transactions.ts";
import { ListTransactions } from "../../src/protocol/messages/66_list_transactions.ts";
import { buildRecordBatch, decodeRecords } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const enc = new TextEncoder();
let broker: Broker;
let c: WireClient;

beforeAll(async () => {
  broker = await testBroker({
    "transaction.max.timeout.ms": 60000,
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 100,
  });
  c = await WireClient.connect(broker.port);
  await c.send(CreateTopics, 7, {
    topics: ["idem", "tx"].map((name) => ({
      name,
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 1000,
    validateOnly: false,
  });
});
afterAll(async () => {
  c.close();
  await broker.close();
});

type BatchOpts = { producerId: bigint; producerEpoch: number; baseSequence: number; transactional?: boolean };
const batch = (values: string[], o: BatchOpts) =>
  buildRecordBatch({ records: values.map((v) => ({ key: null, value: enc.encode(v) })), ...o });

async function produce(topic: string, partition: number, records: Uint8Array, transactionalId: string | null = null) {
  const r = await c.send(Produce, 9, {
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }],
  });
  return r.responses![0].partitionResponses![0];
}

async function fetchValues(topic: string, partition: number, isolationLevel: number) {
  const r = await c.send(Fetch, 11, {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    rackId: "",
    forgottenTopicsData: [],
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition,
        currentLeaderEpoch: -1,
        fetchOffset: 0n,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1 << 20,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      }],
    }],
  });
  const p = r.responses![0].partitions![0];
  const buf = p.records as Uint8Array;
  const batches = [];
  for (let pos = 0; pos < buf.length;) {
    const size = 12 + new DataView(buf.buffer, buf.byteOffset + pos).getInt32(8);
    batches.push(decodeRecords(buf.subarray(pos, pos + size)));
    pos += size;
  }
  return { p, batches };
}

describe("idempotent producer", () => {
  test("duplicates get the original offset, gaps and old epochs are refused", async () => {
    const init = await c.send(InitProducerId, 4, initProducerIdRequest(null, 0));
    expect(init.errorCode).toBe(ErrorCode.NONE);
    const pid = init.producerId!;
    const first = await produce("idem", 0, batch(["a", "b"], { producerId: pid, producerEpoch: 0, baseSequence: 0 }));
    expect(first.errorCode).toBe(ErrorCode.NONE);
    expect(first.baseOffset).toBe(0n);
    const second = await produce("idem", 0, batch(["c"], { producerId: pid, producerEpoch: 0, baseSequence: 2 }));
    expect(second.baseOffset).toBe(2n);
    const dup = await produce("idem", 0, batch(["a", "b"], { producerId: pid, producerEpoch: 0, baseSequence: 0 }));
    expect(dup.errorCode).toBe(ErrorCode.NONE);
    expect(dup.baseOffset).toBe(0n);
    expect(broker.services.topics.get("idem")!.partitions[0].logEndOffset).toBe(3);
    const gap = await produce("idem", 0, batch(["x"], { producerId: pid, producerEpoch: 0, baseSequence: 7 }));
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // KIP-360 bump: the producer names its id and epoch.
    const bump = await c.send(InitProducerId, 4, initProducerIdRequest(null, 0, pid, 0));
    expect(bump.producerEpoch).toBe(1);
    expect((await produce("idem", 0, batch(["d"], { producerId: pid, producerEpoch: 1, baseSequence: 0 }))).errorCode)
      .toBe(ErrorCode.NONE);
    const old = await produce("idem", 0, batch(["e"], { producerId: pid, producerEpoch: 0, baseSequence: 3 }));
    expect(old.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    const newEpochBadSeq = await c.send(InitProducerId, 4, initProducerIdRequest(null, 0, pid, 1));
    expect(
      (await produce(
        "idem",
        0,
        batch(["f"], { producerId: pid, producerEpoch: newEpochBadSeq.producerEpoch!, baseSequence: 5 }),
      )).errorCode,
    ).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const d = await c.send(DescribeProducers, 0, { topics: [{ name: "idem", partitionIndexes: [0] }] });
    const st = d.topics![0].partitions![0].activeProducers![0];
    expect(st.producerId).toBe(pid);
    expect(st.producerEpoch).toBe(1);
    expect(st.lastSequence).toBe(0);
  });

  test("pipelined idempotent batches keep their order", async () => {
    const init = await c.send(InitProducerId, 4, initProducerIdRequest(null, 0));
    const pid = init.producerId!;
    const all = [];
    for (let i = 0; i < 20; i++) {
      all.push(produce("idem", 1, batch([`v${i}`], { producerId: pid, producerEpoch: 0, baseSequence: i })));
    }
    const rs = await Promise.all(all);
    expect(rs.map((r) => r.errorCode)).toEqual(new Array(20).fill(0));
    expect(rs.map((r) => Number(r.baseOffset))).toEqual([...Array(20).keys()]);
  });
});

describe("transactions", () => {
  const addPartitions = (tid: string, pid: bigint, epoch: number, topic: string, partitions: number[]) =>
    c.send(AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: tid,
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{ name: topic, partitions }],
    })
      .then((r) => r.resultsByTopicV3AndBelow![0].resultsByPartition!.map((x) => x.partitionErrorCode));
  const endTxn = (tid: string, pid: bigint, epoch: number, committed: boolean) =>
    c.send(EndTxn, 3, { transactionalId: tid, producerId: pid, producerEpoch: epoch, committed }).then((r) =>
      r.errorCode
    );

  test("commit is visible to read_committed, abort is not; LSO and aborted index", async () => {
    const init = await c.send(InitProducerId, 3, initProducerIdRequest("t1", 30000));
    const pid = init.producerId!;
    const epoch = init.producerEpoch!;
    // Not added yet: refused.
    expect(
      (await produce(
        "tx",
        0,
        batch(["early"], { producerId: pid, producerEpoch: epoch, baseSequence: 0, transactional: true }),
        "t1",
      )).errorCode,
    ).toBe(ErrorCode.INVALID_TXN_STATE);

    expect(await addPartitions("t1", pid, epoch, "tx", [0])).toEqual([0]);
    expect(
      (await produce(
        "tx",
        0,
        batch(["c1", "c2"], { producerId: pid, producerEpoch: epoch, baseSequence: 0, transactional: true }),
        "t1",
      )).errorCode,
    ).toBe(0);
    // Open transaction: read_committed sees nothing, the LSO stays at its first offset.
    let rc = await fetchValues("tx", 0, 1);
    expect(rc.p.lastStableOffset).toBe(0n);
    expect(rc.p.highWatermark).toBe(2n);
    expect(rc.batches.length).toBe(0);
    const lo = await c.send(ListOffsets, 5, {
      replicaId: -1,
      isolationLevel: 1,
      timeoutMs: 0,
      topics: [{
        name: "tx",
        partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
      }],
    });
    expect(lo.topics![0].partitions![0].offset).toBe(0n);
    const desc = await c.send(DescribeTransactions, 0, { transactionalIds: ["t1", "nope"] });
    expect(desc.transactionStates![0].transactionState).toBe("Ongoing");
    expect(desc.transactionStates![0].topics).toEqual([{ topic: "tx", partitions: [0] }]);
    expect(desc.transactionStates![1].errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);

    expect(await endTxn("t1", pid, epoch, true)).toBe(0);
    expect(await endTxn("t1", pid, epoch, true)).toBe(0); // retried commit
    expect(await endTxn("t1", pid, epoch, false)).toBe(ErrorCode.INVALID_TXN_STATE);
    rc = await fetchValues("tx", 0, 1);
    expect(rc.p.lastStableOffset).toBe(3n);
    expect(rc.batches.length).toBe(2);
    expect(rc.batches[1].isControl).toBe(true);

    // An aborted transaction.
    expect(await addPartitions("t1", pid, epoch, "tx", [0])).toEqual([0]);
    expect(
      (await produce(
        "tx",
        0,
        batch(["a1"], { producerId: pid, producerEpoch: epoch, baseSequence: 2, transactional: true }),
        "t1",
      )).errorCode,
    ).toBe(0);
    expect(await endTxn("t1", pid, epoch, false)).toBe(0);
    rc = await fetchValues("tx", 0, 1);
    expect(rc.p.abortedTransactions).toEqual([{ producerId: pid, firstOffset: 3n }]);
    const ru = await fetchValues("tx", 0, 0);
    expect(ru.p.abortedTransactions).toBeNull();
    expect(ru.batches.length).toBe(4);

    const list = await c.send(ListTransactions, 1, {
      stateFilters: ["CompleteAbort", "Bogus"],
      producerIdFilters: [],
      durationFilter: -1n,
      transactionalIdPattern: null,
    });
    expect(list.transactionStates!.map((t) => t.transactionalId)).toContain("t1");
    expect(list.unknownStateFilters).toEqual(["Bogus"]);
  });

  test("a second producer with the same transactional id fences the first and aborts its transaction", async () => {
    const a = await c.send(InitProducerId, 3, initProducerIdRequest("t2", 30000));
    expect(await addPartitions("t2", a.producerId!, a.producerEpoch!, "tx", [1])).toEqual([0]);
    await produce(
      "tx",
      1,
      batch(["zombie"], {
        producerId: a.producerId!,
        producerEpoch: a.producerEpoch!,
        baseSequence: 0,
        transactional: true,
      }),
      "t2",
    );
    const b = await c.send(InitProducerId, 3, initProducerIdRequest("t2", 30000));
    expect(b.producerId).toBe(a.producerId);
    expect(b.producerEpoch).toBe(a.producerEpoch! + 1);
    expect(await endTxn("t2", a.producerId!, a.producerEpoch!, true)).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await addPartitions("t2", a.producerId!, a.producerEpoch!, "tx", [1])).toEqual([ErrorCode.PRODUCER_FENCED]);
    const rc = await fetchValues("tx", 1, 1);
    expect(rc.p.lastStableOffset).toBe(rc.p.highWatermark);
    expect(rc.p.abortedTransactions!.length).toBe(1);
  });

  test("a transaction past its timeout is aborted and its producer fenced", async () => {
    const a = await c.send(InitProducerId, 3, initProducerIdRequest("t3", 200));
    expect(await addPartitions("t3", a.producerId!, a.producerEpoch!, "tx", [1])).toEqual([0]);
    await produce(
      "tx",
      1,
      batch(["slow"], {
        producerId: a.producerId!,
        producerEpoch: a.producerEpoch!,
        baseSequence: 0,
        transactional: true,
      }),
      "t3",
    );
    await Bun.sleep(600);
    const rc = await fetchValues("tx", 1, 1);
    expect(rc.p.lastStableOffset).toBe(rc.p.highWatermark);
    expect(await endTxn("t3", a.producerId!, a.producerEpoch!, true)).toBe(ErrorCode.PRODUCER_FENCED);
  });

  test("offsets in a transaction: invisible until commit, UNSTABLE_OFFSET_COMMIT under requireStable", async () => {
    const a = await c.send(InitProducerId, 3, initProducerIdRequest("t5", 30000));
    const pid = a.producerId!;
    const epoch = a.producerEpoch!;
    expect(
      (await c.send(AddOffsetsToTxn, 3, {
        transactionalId: "t5",
        producerId: pid,
        producerEpoch: epoch,
        groupId: "g5",
      })).errorCode,
    ).toBe(0);
    const tc = await c.send(TxnOffsetCommit, 3, {
      transactionalId: "t5",
      groupId: "g5",
      producerId: pid,
      producerEpoch: epoch,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{
        name: "tx",
        partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: "m" }],
      }],
    });
    expect(tc.topics![0].partitions![0].errorCode).toBe(0);
    const fetchOffset = (requireStable: boolean) =>
      c.send(OffsetFetch, 7, {
        groupId: "g5",
        topics: [{ name: "tx", partitionIndexes: [0] }],
        groups: [],
        requireStable,
      }).then((r) => r.topics![0].partitions![0]);
    expect((await fetchOffset(true)).errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
    expect((await fetchOffset(false)).committedOffset).toBe(-1n);
    expect(await endTxn("t5", pid, epoch, true)).toBe(0);
    const after = await fetchOffset(true);
    expect(after.errorCode).toBe(0);
    expect(after.committedOffset).toBe(7n);
  });

  test("bad input: unknown ids, wrong epochs, too long timeouts, markers for unknown producers", async () => {
    expect(await endTxn("never", 1n, 0, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const big = await c.send(InitProducerId, 3, initProducerIdRequest("t4", 10_000_000));
    expect(big.errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const a = await c.send(InitProducerId, 3, initProducerIdRequest("t4", 1000));
    expect(await endTxn("t4", a.producerId!, a.producerEpoch! + 5, true)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await endTxn("t4", a.producerId!, a.producerEpoch!, true)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await addPartitions("t4", a.producerId!, a.producerEpoch!, "no-such-topic", [0])).toEqual([
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    const m = await c.send(WriteTxnMarkers, 1, {
      markers: [{
        producerId: 424242n,
        producerEpoch: 0,
        transactionResult: false,
        coordinatorEpoch: 0,
        topics: [{ name: "idem", partitionIndexes: [1] }, { name: "gone", partitionIndexes: [0] }],
      }],
    });
    expect(m.markers![0].topics!.map((t) => t.partitions![0].errorCode)).toEqual([
      0,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    // A marker for a producer with no open transaction leaves the LSO alone.
    const ru = await fetchValues("idem", 1, 1);
    expect(ru.p.lastStableOffset).toBe(ru.p.highWatermark);
    expect(ru.p.abortedTransactions).toEqual([]);
  });

  test("markers: a lower coordinator epoch is fenced, a retried one is not written twice", async () => {
    const marker = async (coordinatorEpoch: number, producerEpoch = 0) => {
      const m = await c.send(WriteTxnMarkers, 1, {
        markers: [{
          producerId: 515151n,
          producerEpoch,
          transactionResult: true,
          coordinatorEpoch,
          topics: [{ name: "idem", partitionIndexes: [1] }],
        }],
      });
      return m.markers![0].topics![0].partitions![0].errorCode;
    };
    const end = async () => (await fetchValues("idem", 1, 0)).p.highWatermark!;
    const start = await end();
    expect(await marker(5)).toBe(ErrorCode.NONE);
    expect(await end()).toBe(start + 1n);
    // The coordinator's retry (its first answer lost): nothing new to write.
    expect(await marker(5)).toBe(ErrorCode.NONE);
    expect(await end()).toBe(start + 1n);
    // A coordinator replaced since (lower epoch): refused, nothing stored (Kafka's ProducerAppendInfo).
    expect(await marker(3)).toBe(ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    expect(await end()).toBe(start + 1n);
    // A newer coordinator, or the producer's next epoch: written.
    expect(await marker(6)).toBe(ErrorCode.NONE);
    expect(await marker(6, 1)).toBe(ErrorCode.NONE);
    expect(await end()).toBe(start + 3n);
  });

  test("transactional records in a request naming no transactional id are refused as a whole", async () => {
    const before = (await fetchValues("tx", 1, 0)).p.highWatermark!;
    const r = await produce(
      "tx",
      1,
      batch(["x"], { producerId: 616161n, producerEpoch: 0, baseSequence: 0, transactional: true }),
      null,
    );
    expect(r.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect((await fetchValues("tx", 1, 0)).p.highWatermark).toBe(before);
  });
});
