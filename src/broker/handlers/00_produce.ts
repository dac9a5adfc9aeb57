// Produce (key 0), v0-13. Appends record batches as the producer sent them.
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
// (storage/recompress.ts); "producer" keeps them as sent. Topics with confluent.value.schema.validation
// (or .key.) refuse records without a registered schema id (registry/validation.ts: INVALID_RECORD).
// As Kafka requires from v3, each partition carries exactly one batch (else INVALID_RECORD).
// Every record is then validated as Kafka's LogValidator does (record_batch.ts validateRecords, walking
// the framing in place, after a bounded decompression for compressed batches): a record whose lengths,
// header count or record count do not add up gets INVALID_RECORD with its index in recordErrors (v8+);
// a null key on a compacted topic INVALID_RECORD ("Compacted topic cannot accept message without
// key"); a CreateTime timestamp outside [now - message.timestamp.before.max.ms, now +
// message.timestamp.after.max.ms] INVALID_TIMESTAMP; an empty batch INVALID_RECORD. A batch whose
// maxTimestamp disagrees with its records (older sarama writes 0) gets the right one written in place,
// CRC recomputed; batches that are right are not touched.
// Idempotent batches (producer id >= 0) are checked against the partition's producer state
// (txn/producer_state.ts): duplicates are answered with their original offset and not stored,
// gaps get OUT_OF_ORDER_SEQUENCE_NUMBER, old epochs INVALID_PRODUCER_EPOCH. Transactional batches
// must be in a partition added to the producer's open transaction (INVALID_TXN_STATE, KIP-890), and a request
// with transactional records must name its transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED). In a
// cluster, when another broker coordinates the transaction, the first batch of a transaction on a partition
// asks that coordinator (AddPartitionsToTxn v5: verifyOnly for v1 clients, an implicit add for Produce v12+
// under transaction.version 2); its NOT_COORDINATOR-like errors answer NOT_ENOUGH_REPLICAS (retriable).
// An idempotent append that failed with KAFKA_STORAGE_ERROR on an engine where it may still have
// been stored (PostgreSQL: committed, then the connection broke) makes the next one first replay what
// landed into the producer state (PartitionLog.refresh), so the producer's retry is a duplicate.
// Versions: v0-2 carry message sets of magic 0/1; they are up-converted to one v2 batch in the same
// codec (legacy_message_set.ts: CRC-32 checked, CORRUPT_MESSAGE otherwise) and stored as v2. Kafka
// 4.0 refuses v0-2 while still listing them (KAFKA-18659); we list them because we serve them.
// v12 is v11 on the wire; from v12, with transaction.version 2 finalized, a transactional batch for a
// partition not yet in the transaction adds it (KIP-890 part 2: no AddPartitionsToTxn). v13 names
// topics by id (KIP-516): an unknown id answers UNKNOWN_TOPIC_ID, and the response carries the id.
import { prepareCompression } from "../../protocol/compression/index.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { upConvertMessageSet } from "../../protocol/legacy_message_set.ts";
import { Produce } from "../../protocol/messages/00_produce.ts";
import type { BatchInfo } from "../../protocol/record_batch.ts";
import {
  batchIsTransactional,
  batchMagic,
  RECORD_BATCH_OVERHEAD,
  scanBatches,
  setLogAppendTime,
  validateRecords,
} from "../../protocol/record_batch.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { recordCheckOptions } from "../record_checks.ts";
import type { Services } from "../services.ts";
import type { Topic } from "../topics.ts";
import { producerStateOf } from "../txn/coordinator.ts";
import { WorkYielder } from "../yield.ts";
import type { PartitionProducerState } from "../txn/producer_state.ts";
import { forEachBatch } from "../log_scan.ts";
import type { PartitionLog } from "../../storage/store.ts";
import { errText } from "../../storage/store.ts";
import { recompressRecords, targetCodec } from "../../storage/recompress.ts";
import { schemaValidationError } from "../registry/validation.ts";

type PartitionResult = {
  index: number;
  errorCode: number;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  errorMessage: string | null;
  recordErrors?: { batchIndex: number; batchIndexErrorMessage: string | null }[];
};

export default defineHandler(Produce, [0, 13], async (req, ctx) => {
  const svc = ctx.services;
  if (req.acks === 0) ctx.noResponse = true;
  const validAcks = req.acks === 0 || req.acks === 1 || req.acks === -1;
  // ACLs: WRITE on the transactional id (the whole request), WRITE on each topic.
  const implicitTxn = ctx.apiVersion >= 12 && req.transactionalId !== null &&
      svc.features.level("transaction.version") >= 2
    ? req.transactionalId
    : null;
  // Transactional records in a request that names no transactional id (any version: v0-2 cannot name one, and
  // their magic 0/1 message sets cannot be transactional) cannot be verified with a coordinator: refused as a
  // whole, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka's KafkaApis does.
  const txnDenied = req.transactionalId !== null
    ? !allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)
    : req.topicData.some((td) => td.partitionData.some((pd) => transactionalRecords(pd.records)));
  // Tens of thousands of entries give the event loop turns while they start (yield.ts).
  const work = new WorkYielder(ctx);
  const responses = await work.map(req.topicData, async (td) => {
    const byId = ctx.apiVersion >= 13;
    const topic = byId ? svc.topics.byId(td.topicId) : svc.topics.get(td.name);
    const name = byId ? topic?.name : td.name;
    const topicDenied = name !== undefined && !allowed(ctx, Op.WRITE, Res.TOPIC, name);
    const tally: Tally = { bytes: 0, records: 0 };
    const partitionResponses = await work.map(
      td.partitionData,
      (pd): PartitionResult | Promise<PartitionResult> => {
        if (txnDenied) return failed(pd.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null);
        if (topicDenied) return failed(pd.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED, null);
        if (!validAcks) return failed(pd.index, ErrorCode.INVALID_REQUIRED_ACKS, null);
        if (!topic && byId) return failed(pd.index, ErrorCode.UNKNOWN_TOPIC_ID, null);
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
          ? stored.then((r) => append(svc, topic, pd.index, r, req.acks, tally, implicitTxn, req.transactionalId))
          : append(svc, topic, pd.index, stored, req.acks, tally, implicitTxn, req.transactionalId);
      },
    );
    // Kafka's BytesInPerSec / MessagesInPerSec: what was appended, once per topic per request.
    if (topic && tally.bytes > 0) {
      topic.stats.bytesIn += tally.bytes;
      topic.stats.messagesIn += tally.records;
      svc.metrics.topicBytesIn += tally.bytes;
      svc.metrics.messagesIn += tally.records;
    }
    return { name: td.name, topicId: td.topicId, partitionResponses };
  });
  // Test hook: drop every Nth produce response after appending, as a network failure would.
  const every = Number(svc.config["chronik.test.drop.produce.response.every"] ?? 0);
  if (every > 0 && ++svc.counters.produceRequests % every === 0) {
    ctx.closeConnection("test hook chronik.test.drop.produce.response.every");
  }
  // Every append has settled: an engine that copied the batches out needs the request no more.
  ctx.frameReusable = !svc.store.keepsAppendedBuffers;
  return { responses, throttleTimeMs: 0 };
});

/** Bytes and records one request appended to one topic. */
type Tally = { bytes: number; records: number };

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
  tally: Tally,
  implicitTxn: string | null = null,
  transactionalId: string | null = null,
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
  let invalid = schemaValidationError(svc, topic, records);
  // A schema id this broker has not seen yet may have been registered through another broker.
  if (invalid) {
    try {
      await svc.registry.sync();
    } catch (e) {
      // `_schemas` could not be read (its storage is down): retriable, as any other storage failure here.
      return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, `Reading _schemas for schema validation: ${errText(e)}`);
    }
    invalid = schemaValidationError(svc, topic, records);
  }
  if (invalid) return failed(index, ErrorCode.INVALID_RECORD, invalid);
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
  // Every record's framing, keys on compacted topics, CreateTime bounds; maxTimestamp fixed in place.
  const checks = recordCheckOptions(svc, topic, index, maxMessageBytes);
  const problem = validateRecords(records, batch, checks);
  if (problem !== null) {
    const r = failed(index, ErrorCode[problem.error], problem.message);
    r.recordErrors = problem.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message }));
    return r;
  }
  let logAppendTime = -1;
  if (checks.logAppendTime) {
    logAppendTime = svc.now();
    for (const b of scanned) {
      setLogAppendTime(records, b.position, logAppendTime);
      b.maxTimestamp = logAppendTime;
    }
  }
  const log = topic.partitions[index];
  // The append is fenced by the epoch checked here: if this broker loses and regains the partition before the
  // append commits, it stores nothing (NOT_LEADER_OR_FOLLOWER) rather than land at the new epoch after a sequence
  // check against the old view.
  if (!svc.cluster.leads(topic.name, index)) {
    return failed(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, `This broker does not lead ${topic.name}-${index}`);
  }
  const epoch = svc.cluster.heldEpoch?.(topic.name, index);
  if (batch.producerId >= 0n) {
    // Sequence check, append and state update run one at a time per partition, in request order: the
    // transaction checks run inside too, so an implicit add (which waits for its write) cannot let a
    // later pipelined request of the same producer overtake this one.
    const state = producerStateOf(log);
    return state.serialized(async () => {
      const txnId = implicitTxn ?? transactionalId;
      if (
        batch.isTransactional && txnId !== null && svc.txnRemoteAdd &&
        svc.txns.coordinatorError(txnId) !== ErrorCode.NONE // elsewhere, or still loading here (then retriable)
      ) {
        // Cluster, the transaction coordinated by another broker: the first batch of the transaction here
        // adds the partition there (transactions v2) or checks that the client added it (v1, KIP-890 part 1),
        // as Kafka's AddPartitionsToTxnManager; coordinator trouble answers NOT_ENOUGH_REPLICAS (retriable).
        if (!state.hasOngoing(batch.producerId)) {
          const code = await svc.txnRemoteAdd(
            txnId,
            batch.producerId,
            batch.producerEpoch,
            topic.name,
            index,
            implicitTxn === null,
          );
          if (code !== ErrorCode.NONE) return failed(index, produceAddError(code), null);
        }
      } else if (
        batch.isTransactional && implicitTxn !== null &&
        !svc.txns.inTransaction(batch.producerId, batch.producerEpoch, topic.name, index)
      ) {
        const codes = await svc.txns.addPartitions(
          implicitTxn,
          batch.producerId,
          batch.producerEpoch,
          [{ topic: topic.name, partition: index }],
          false,
          true,
        );
        const code = [...codes.values()][0];
        if (code !== ErrorCode.NONE) return failed(index, code, null);
      }
      if (
        batch.isTransactional && !svc.txns.inTransaction(batch.producerId, batch.producerEpoch, topic.name, index)
      ) {
        return failed(
          index,
          ErrorCode.INVALID_TXN_STATE,
          `Partition ${topic.name}-${index} was not added to the transaction of producer ${batch.producerId} (epoch ${batch.producerEpoch})`,
        );
      }
      if (state.unsureFrom !== null && !(await resync(svc, log, state))) {
        return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, null);
      }
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
      const end = log.logEndOffset;
      const r = await store(svc, topic, index, records, scanned, logAppendTime, acks, tally, epoch);
      if (r.errorCode === ErrorCode.NONE) state.record(batch, Number(r.baseOffset));
      // Failed, but perhaps stored (PostgreSQL committed, then the connection broke): the next
      // append first learns what landed, so the producer's retry is found to be a duplicate.
      else if (r.errorCode === ErrorCode.KAFKA_STORAGE_ERROR && log.refresh) state.unsureFrom ??= end;
      return r;
    });
  }
  return store(svc, topic, index, records, scanned, logAppendTime, acks, tally, epoch);
}

/** Replays into the producer state the batches a failed append may have stored after all; false if it cannot yet. */
async function resync(svc: Services, log: PartitionLog, state: PartitionProducerState): Promise<boolean> {
  try {
    await log.refresh?.();
    await forEachBatch(log, state.unsureFrom!, (b) => state.replay(b));
    state.unsureFrom = null;
    return true;
  } catch (e) {
    svc.log(
      "warn",
      `${log.topic}-${log.partition}: producer state not resynced yet: ${e instanceof Error ? e.message : String(e)}`,
    );
    return false;
  }
}

async function store(
  svc: Services,
  topic: Topic,
  index: number,
  records: Uint8Array,
  scanned: BatchInfo[],
  logAppendTime: number,
  acks: number,
  tally: Tally,
  leaderEpoch: number | undefined,
): Promise<PartitionResult> {
  try {
    const r = await topic.partitions[index].append(records, scanned, {
      durable: acks === -1 && svc.config["chronik.fsync.acks.all"] !== false,
      leaderEpoch,
    });
    tally.bytes += records.length;
    for (let i = 0; i < scanned.length; i++) tally.records += scanned[i].recordCount;
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
    // Leadership moved under the append (cluster on PostgreSQL): fenced, nothing stored.
    if ((e as { code?: string }).code === "NOT_LEADER") {
      svc.log("info", `append to ${topic.name}-${index} fenced: ${(e as Error).message}`);
      return failed(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, null);
    }
    // The object data path answers with a Kafka error code (fenced by the index: NOT_LEADER_OR_FOLLOWER;
    // the object store or the index unreachable: KAFKA_STORAGE_ERROR, retriable).
    const objectCode = (e as { errorCode?: unknown }).errorCode;
    if (typeof objectCode === "number" && objectCode > 0) {
      svc.log(
        objectCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ? "info" : "error",
        `append to ${topic.name}-${index} failed: ${(e as Error).message}`,
      );
      return failed(index, objectCode, null);
    }
    // Storage failures the engine logged once (disk full, log dir offline) are not repeated per request.
    if ((e as { reported?: boolean }).reported !== true) {
      svc.log("error", `append to ${topic.name}-${index} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return failed(index, ErrorCode.KAFKA_STORAGE_ERROR, null);
  }
}

/** Whether produced records start with a transactional RecordBatch v2 (Kafka's hasTransactionalRecords). */
function transactionalRecords(records: Uint8Array | null): boolean {
  return records !== null && records.length >= RECORD_BATCH_OVERHEAD && batchMagic(records) === 2 &&
    batchIsTransactional(records);
}

/** An implicit add's error from a remote coordinator as Produce answers it (Kafka's AddPartitionsToTxnManager). */
function produceAddError(code: number): number {
  return code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
      code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || code === ErrorCode.CONCURRENT_TRANSACTIONS
    ? ErrorCode.NOT_ENOUGH_REPLICAS
    : code;
}
