// Produce (key 0), v0-11. Appends record batches as the producer sent them.
// Behaviour: acks must be -1, 0 or 1 (else INVALID_REQUIRED_ACKS); acks=0 gets no response.
// Each partition's records are split into batches and checked (magic 2, sizes, CRC32C):
// CORRUPT_MESSAGE / INVALID_RECORD / UNSUPPORTED_FOR_MESSAGE_FORMAT and nothing stored; a batch over
// the topic's max.message.bytes gets MESSAGE_TOO_LARGE; acks=-1 with min.insync.replicas above 1
// gets NOT_ENOUGH_REPLICAS (the ISR is this one node). Offsets are assigned by rewriting each
// batch's base offset in place. Topics with message.timestamp.type=LogAppendTime get the broker's
// time written into their batches (CRC recomputed) and logAppendTimeMs in the response.
// acks=1 is answered once the append is in the store (the OS has the bytes); acks=-1 too, unless the
// broker runs with chronik.fsync.acks.all (the default with a data dir): then only after a group-commit
// fsync. Topics whose compression.type names a codec get batches in other codecs rewritten in it
// (storage/recompress.ts); "producer" keeps them as sent.
// As Kafka requires from v3, each partition carries exactly one batch (else INVALID_RECORD).
// Idempotent batches (producer id >= 0) are checked against the partition's producer state
// (txn/producer_state.ts): duplicates are answered with their original offset and not stored,
// gaps get OUT_OF_ORDER_SEQUENCE_NUMBER, old epochs INVALID_PRODUCER_EPOCH. Transactional batches
// must be in a partition added to the producer's open transaction (INVALID_TXN_STATE, KIP-890).
// Versions: v0-2 carry message sets of magic 0/1; they are up-converted to one v2 batch in the same
// codec (legacy_message_set.ts: CRC-32 checked, CORRUPT_MESSAGE otherwise) and stored as v2. Kafka
// 4.0 refuses v0-2 while still listing them (KAFKA-18659); we list them because we serve them.
import { prepareCompression } from "../../protocol/compression/index.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { upConvertMessageSet } from "../../protocol/legacy_message_set.ts";
import { Produce } from "../../protocol/messages/00_produce.ts";
import type { BatchInfo } from "../../protocol/record_batch.ts";
import { scanBatches, setLogAppendTime } from "../../protocol/record_batch.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import type { Services } from "../services.ts";
import type { Topic } from "../topics.ts";
import { producerStateOf } from "../txn/coordinator.ts";
import { recompressRecords, targetCodec } from "../../storage/recompress.ts";

type PartitionResult = {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  errorMessage: string | null;
};

export default defineHandler(Produce, [0, 11], async (req, ctx) => {
  const svc = ctx.services;
  if (req.acks === 0) ctx.noResponse = true;
  const validAcks = req.acks === 0 || req.acks === 1 || req.acks === -1;
  // ACLs: WRITE on the transactional id (the whole request), WRITE on each topic.
  const txnDenied = req.transactionalId !== null && !allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId);
  const responses = await Promise.all(req.topicData.map(async (td) => {
    const topic = svc.topics.get(td.name);
    const topicDenied = !allowed(ctx, Op.WRITE, Res.TOPIC, td.name);
    const partitionResponses = await Promise.all(
      td.partitionData.map((pd): PartitionResult | Promise<PartitionResult> => {
        if (txnDenied) return failed(pd.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null);
        if (topicDenied) return failed(pd.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED, null);
        if (!validAcks) return failed(pd.index, ErrorCode.INVALID_REQUIRED_ACKS, null);
        const log = topic?.partitions[pd.index];
        if (!topic || !log) return failed(pd.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
        let records = pd.records;
        if (ctx.apiVersion <= 2 && records !== null && records.length > 0) {
          const converted = upConvertMessageSet(records);
          if (!(converted instanceof Uint8Array)) {
            return failed(pd.index, ErrorCode[converted.error], converted.message);
          }
          records = converted;
        }
        const stored = withTopicCodec(svc, topic, records);
        return stored instanceof Promise
          ? stored.then((r) => append(svc, topic, pd.index, r, req.acks))
          : append(svc, topic, pd.index, stored, req.acks);
      }),
    );
    return { name: td.name, partitionResponses };
  }));
  // Test hook: drop every Nth produce response after appending, as a network failure would.
  const every = Number(svc.config["chronik.test.drop.produce.response.every"] ?? 0);
  if (every > 0 && ++svc.counters.produceRequests % every === 0) {
    ctx.closeConnection("test hook chronik.test.drop.produce.response.every");
  }
  // Every append has settled: an engine that copied the batches out needs the request no more.
  ctx.frameReusable = !svc.store.keepsAppendedBuffers;
  return { responses, throttleTimeMs: 0 };
});

function failed(index: number, errorCode: number, errorMessage: string | null): PartitionResult {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

/** compression.type: a codec name makes the broker rewrite batches in that codec. */
function withTopicCodec(
  svc: Services,
  topic: Topic,
  records: Uint8Array | null,
): Uint8Array | null | Promise<Uint8Array | null> {
  const codec = targetCodec(svc.topics.config(topic, "compression.type", svc.config));
  if (codec === null || records === null) return records;
  // zstd's encoder loads in the background from start-up (broker.ts): wait for it, never fall back.
  if (codec === ZSTD) return prepareCompression().then(() => recompressRecords(records, codec));
  return recompressRecords(records, codec);
}

const ZSTD = 4;

async function append(
  svc: Services,
  topic: Topic,
  index: number,
  records: Uint8Array | null,
  acks: number,
): Promise<PartitionResult> {
  if (records === null || records.length === 0) {
    return failed(index, ErrorCode.INVALID_RECORD, "Produce request has no records for this partition");
  }
  const scanned = scanBatches(records);
  if (!Array.isArray(scanned)) {
    return failed(index, ErrorCode[scanned.error], scanned.message);
  }
  if (scanned.length !== 1) {
    return failed(
      index,
      ErrorCode.INVALID_RECORD,
      `Produce requests with version 3 or later must contain exactly one record batch per partition; got ${scanned.length}`,
    );
  }
  const batch = scanned[0];
  if (batch.isControl) {
    return failed(
      index,
      ErrorCode.INVALID_RECORD,
      "Control batches may only be written by the transaction coordinator",
    );
  }
  // One node means an ISR of one: acks=all cannot meet a min.insync.replicas above 1 (Kafka's check).
  const minIsr = Number(svc.topics.config(topic, "min.insync.replicas", svc.config));
  if (acks === -1 && minIsr > 1) {
    return failed(
      index,
      ErrorCode.NOT_ENOUGH_REPLICAS,
      `The size of the current ISR Set(${svc.config.nodeId}) is insufficient to satisfy the min.isr requirement of ${minIsr} for partition ${topic.name}-${index}`,
    );
  }
  const maxMessageBytes = Number(svc.topics.config(topic, "max.message.bytes", svc.config));
  for (const b of scanned) {
    if (b.size > maxMessageBytes) {
      return failed(
        index,
        ErrorCode.MESSAGE_TOO_LARGE,
        `The batch size ${b.size} exceeds max.message.bytes ${maxMessageBytes}`,
      );
    }
  }
  let logAppendTime = -1;
  if (svc.topics.config(topic, "message.timestamp.type", svc.config) === "LogAppendTime") {
    logAppendTime = svc.now();
    for (const b of scanned) {
      setLogAppendTime(records, b.position, logAppendTime);
      b.maxTimestamp = logAppendTime;
    }
  }
  const log = topic.partitions[index];
  if (batch.producerId >= 0n) {
    if (batch.isTransactional && !svc.txns.inTransaction(batch.producerId, batch.producerEpoch, topic.name, index)) {
      return failed(
        index,
        ErrorCode.INVALID_TXN_STATE,
        `Partition ${topic.name}-${index} was not added to the transaction of producer ${batch.producerId} (epoch ${batch.producerEpoch})`,
      );
    }
    // Sequence check, append and state update run one at a time per partition.
    const state = producerStateOf(log);
    return state.serialized(async () => {
      const check = state.check(batch);
      if (check.kind === "error") return failed(index, check.errorCode, check.message);
      if (check.kind === "duplicate") {
        return {
          index,
          errorCode: ErrorCode.NONE,
          baseOffset: BigInt(check.baseOffset),
          logAppendTimeMs: BigInt(logAppendTime),
          logStartOffset: BigInt(log.logStartOffset),
          errorMessage: null,
        };
      }
      const r = await store(svc, topic, index, records, scanned, logAppendTime, acks);
      if (r.errorCode === ErrorCode.NONE) state.record(batch, Number(r.baseOffset));
      return r;
    });
  }
  return store(svc, topic, index, records, scanned, logAppendTime, acks);
}

async function store(
  svc: Services,
  topic: Topic,
  index: number,
  records: Uint8Array,
  scanned: BatchInfo[],
  logAppendTime: number,
  acks: number,
): Promise<PartitionResult> {
  try {
    const r = await topic.partitions[index].append(records, scanned, {
      durable: acks === -1 && svc.config["chronik.fsync.acks.all"] !== false,
    });
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: BigInt(r.baseOffset),
      logAppendTimeMs: BigInt(logAppendTime),
      logStartOffset: BigInt(r.logStartOffset),
      errorMessage: null,
    };
  } catch (e) {
    // Deleted under the append (DeleteTopics closed the log): the partition is gone, as Kafka answers.
    if (svc.topics.get(topic.name)?.partitions[index] !== topic.partitions[index]) {
      return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null);
    }
    // Storage failures the engine logged once (disk full, log dir offline) are not repeated per request.
    if ((e as { reported?: boolean }).reported !== true) {
      svc.log("error", `append to ${topic.name}-${index} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, null);
  }
}
