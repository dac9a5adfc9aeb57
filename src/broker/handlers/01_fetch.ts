// Fetch (key 1), v4-18. Returns stored batches from each partition's fetch offset.
// Behaviour: up to partitionMaxBytes per partition and maxBytes in all, except that the first batch
// of the first partition with data is returned whatever its size (KIP-74). When fewer than minBytes
// are ready the request parks until an append to one of its partitions brings enough, or maxWaitMs
// passes, without holding up other requests on the connection. Incremental fetch sessions (KIP-227,
// v7+): see fetch_sessions.ts (FETCH_SESSION_TOPIC_ID_ERROR when a session made before v13 goes on
// at v13+ or back). Topic ids from v13. Every partition carries the high watermark, last stable
// offset and log start offset. An offset outside [logStart, logEnd] gets OFFSET_OUT_OF_RANGE; a
// leader epoch newer than ours UNKNOWN_LEADER_EPOCH, older FENCED_LEADER_EPOCH. A partition whose
// read fails (a damaged batch in a segment: see storage/file.ts) gets KAFKA_STORAGE_ERROR, the
// others their data. A partition with an error always carries an empty record set, never a null one
// (as Kafka). read_uncommitted answers abortedTransactions as null; read_committed (isolation 1)
// stops at the last stable offset and lists the aborted transactions overlapping what it returns.
// Versions: v0-3 are not offered — they need message format v0/v1 down-conversion, which Kafka 4.0
// also dropped (KIP-896). Replica fetches (replicaId >= 0) are answered like consumer fetches;
// there are no followers (v18's follower high watermark, KIP-1166, is read and unused).
// Quotas (consumer_byte_rate, as Kafka's KafkaApis.handleFetchRequest): maxBytes is capped at what
// the quota allows in its window (quota * (quota.window.num - 1) * window size); once the response
// is read its record bytes are recorded, and if that puts the client over its quota the response
// goes out empty with throttleTimeMs (the bytes un-recorded, the session's cached partition state
// left as it was) and the server mutes the connection for that time.
import { ErrorCode } from "../../protocol/errors.ts";
import { Fetch } from "../../protocol/messages/01_fetch.ts";
import { batchBaseOffsetNumber, batchLastOffsetDelta } from "../../protocol/record_batch.ts";
import type { FetchPartition } from "../fetch_sessions.ts";
import { FETCH } from "../config/quotas.ts";
import { allowed, memo, Op, Res } from "../auth/authorize.ts";
import { waitForAppend } from "../append_wait.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { WorkYielder } from "../yield.ts";
import type { Services } from "../services.ts";
import type { Topic } from "../topics.ts";
import { ZERO_UUID } from "../topics.ts";
import { producerStateOf } from "../txn/coordinator.ts";

type PartitionData = {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  abortedTransactions: { producerId: bigint; firstOffset: bigint }[] | null;
  preferredReadReplica: number;
  /** Never null: Kafka sends an empty record set with an error, and librdkafka refuses a null one. */
  records: Uint8Array[];
};

const ALWAYS = () => true;

export default defineHandler(Fetch, [4, 18], LARGE_RESPONSE, async (req, ctx) => {
  const svc = ctx.services;
  const v = ctx.apiVersion;
  const byId = v >= 13;
  const nameOf = (
    t: { topic: string; topicId: string },
  ) => (byId ? svc.topics.byId(t.topicId)?.name ?? `\u0000${t.topicId}` : t.topic);
  const requested = [];
  for (const t of req.topics) {
    const topic = nameOf(t);
    for (const p of t.partitions) {
      requested.push({
        topic,
        topicId: t.topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        maxBytes: p.partitionMaxBytes,
        currentLeaderEpoch: p.currentLeaderEpoch,
      });
    }
  }
  const forgotten = [];
  for (const t of req.forgottenTopicsData) {
    const topic = nameOf(t);
    for (const partition of t.partitions) forgotten.push({ topic, partition });
  }
  const plan = v >= 7
    ? svc.fetchSessions.plan(req.sessionId, req.sessionEpoch, requested, forgotten, svc.now(), byId)
    : {
      errorCode: ErrorCode.NONE,
      sessionId: 0,
      incremental: false,
      partitions: requested.map((p) => ({
        ...p,
        lastHighWatermark: -1n,
        lastLogStartOffset: -1n,
        lastStableOffset: -1n,
      })),
    };
  if (plan.errorCode !== ErrorCode.NONE) {
    return { throttleTimeMs: 0, errorCode: plan.errorCode, sessionId: 0, responses: [] };
  }

  const readCommitted = req.isolationLevel === 1;
  // Kafka: never more than the broker's fetch.max.bytes, whatever the request asks.
  let maxBytes = Math.min(v >= 3 ? req.maxBytes : 0x7fffffff, Number(svc.config["fetch.max.bytes"] ?? 57671680));
  let minBytes = req.minBytes;
  const quota = svc.quotas.typeActive[FETCH] ? svc.quotas.bind(ctx.session, ctx.clientId, svc.now()) : null;
  if (quota !== null) {
    maxBytes = Math.min(maxBytes, Math.max(1, Math.floor(Math.min(svc.quotas.maxInWindow(FETCH, quota), 0x7fffffff))));
    minBytes = Math.min(minBytes, maxBytes);
  }
  // ACLs: READ on each topic (TOPIC_AUTHORIZATION_FAILED for that topic's partitions).
  const canRead = svc.acls.enabled ? memo((topic: string) => allowed(ctx, Op.READ, Res.TOPIC, topic)) : ALWAYS;
  let results = await readAll(svc, plan.partitions, maxBytes, readCommitted, canRead);
  if (!results.ready && req.maxWaitMs > 0 && results.bytes < minBytes) {
    const deadline = svc.now() + req.maxWaitMs;
    while (results.bytes < minBytes && !results.ready) {
      const left = deadline - svc.now();
      const logs = plan.partitions.flatMap((p) => svc.topics.get(p.topic)?.partitions[p.partition] ?? []);
      if (left <= 0 || (await waitForAppend(svc, logs, left)) !== "append") break;
      // Too little to answer with: the read buffers go back before reading again.
      for (const d of results.data) for (const b of d.records) svc.readBuffers.release(b);
      results = await readAll(svc, plan.partitions, maxBytes, readCommitted, canRead);
    }
  }

  if (quota !== null) {
    const now = svc.now();
    const throttle = svc.quotas.record(FETCH, quota, results.bytes, now);
    if (throttle > 0) {
      svc.quotas.recordOnly(FETCH, quota, -results.bytes, now);
      for (const d of results.data) for (const b of d.records) svc.readBuffers.release(b);
      ctx.throttleTimeMs = throttle;
      // Kafka's getThrottledResponse: no partitions; a new (full) session is not kept for the client.
      return {
        throttleTimeMs: throttle,
        errorCode: ErrorCode.NONE,
        sessionId: plan.incremental ? plan.sessionId : 0,
        responses: [],
      };
    }
  }

  // Group by topic, in request (session) order, leaving out unchanged partitions when incremental.
  const responses: { topic: string; topicId: string; partitions: PartitionData[] }[] = [];
  let current: { topic: string; topicId: string; partitions: PartitionData[] } | null = null;
  // The request's topic and topicId of `current`: partitions of one topic share one entry.
  let currentName = "";
  let currentId = "";
  let currentTopic: Topic | undefined;
  let topicBytes = 0; // record bytes of currentTopic in this response
  for (let i = 0; i < plan.partitions.length; i++) {
    const p = plan.partitions[i];
    const d = results.data[i];
    const changed = d.errorCode !== ErrorCode.NONE || d.records.length > 0 ||
      d.highWatermark !== p.lastHighWatermark || d.logStartOffset !== p.lastLogStartOffset ||
      d.lastStableOffset !== p.lastStableOffset;
    p.lastHighWatermark = d.highWatermark;
    p.lastLogStartOffset = d.logStartOffset;
    p.lastStableOffset = d.lastStableOffset;
    if (plan.incremental && !changed) continue;
    if (!current || currentName !== p.topic || currentId !== p.topicId) {
      currentName = p.topic;
      currentId = p.topicId;
      const name = p.topic.startsWith("\u0000") ? "" : p.topic;
      if (topicBytes > 0) countBytesOut(svc, currentTopic, topicBytes);
      currentTopic = svc.topics.get(name);
      topicBytes = 0;
      current = { topic: name, topicId: byId ? p.topicId : currentTopic?.id ?? ZERO_UUID, partitions: [] };
      responses.push(current);
    }
    for (let j = 0; j < d.records.length; j++) topicBytes += d.records[j].length;
    current.partitions.push(d);
  }
  if (topicBytes > 0) countBytesOut(svc, currentTopic, topicBytes);
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: plan.sessionId, responses };
});

/** Kafka's BytesOutPerSec: record bytes returned, once per topic per response. */
function countBytesOut(svc: Services, topic: Topic | undefined, bytes: number): void {
  if (topic) topic.stats.bytesOut += bytes;
  svc.metrics.topicBytesOut += bytes;
}

type ReadResult = { data: PartitionData[]; bytes: number; ready: boolean };

async function readAll(
  svc: Services,
  parts: FetchPartition[],
  maxBytes: number,
  readCommitted: boolean,
  canRead: (topic: string) => boolean,
): Promise<ReadResult> {
  const data: PartitionData[] = [];
  let bytes = 0;
  let ready = false;
  // No ctx.keepOrder: a Fetch's reads interleave with later requests at every read anyway, as a
  // Produce behind a long poll must be able to wake it.
  const work = new WorkYielder();
  for (const p of parts) {
    const turn = work.step();
    if (turn !== null) await turn;
    const d: PartitionData = {
      partitionIndex: p.partition,
      errorCode: ErrorCode.NONE,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      abortedTransactions: readCommitted ? [] : null,
      preferredReadReplica: -1,
      records: [],
    };
    data.push(d);
    if (!p.topic.startsWith("\u0000") && !canRead(p.topic)) {
      d.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      ready = true;
      continue;
    }
    const topic = svc.topics.get(p.topic);
    const log = topic?.partitions[p.partition];
    if (!log) {
      d.errorCode = p.topic.startsWith("\u0000") ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      ready = true;
      continue;
    }
    const state = producerStateOf(log);
    const lso = state.lastStableOffset(log.logEndOffset);
    d.highWatermark = BigInt(log.logEndOffset);
    d.lastStableOffset = BigInt(lso);
    d.logStartOffset = BigInt(log.logStartOffset);
    // In a cluster, only the leader serves a partition (its epoch is the one clients know).
    if (!svc.cluster.leads(p.topic, p.partition)) {
      d.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
      ready = true;
      continue;
    }
    const LEADER_EPOCH = svc.cluster.leader(p.topic, p.partition).epoch;
    if (p.currentLeaderEpoch > LEADER_EPOCH) {
      d.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
      ready = true;
      continue;
    }
    if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < LEADER_EPOCH) {
      d.errorCode = ErrorCode.FENCED_LEADER_EPOCH;
      ready = true;
      continue;
    }
    if (p.fetchOffset < d.logStartOffset || p.fetchOffset > d.highWatermark) {
      d.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      ready = true;
      continue;
    }
    const limit = Math.min(p.maxBytes, maxBytes - bytes);
    if (limit <= 0 && bytes > 0) {
      d.records = [];
      continue;
    }
    const from = Number(p.fetchOffset);
    try {
      // Pooled buffers: the server releases them once the response is sent (Conn.write's callback).
      d.records = await log.read(from, Math.max(limit, 0), bytes > 0, svc.readBuffers);
    } catch (e) {
      // A damaged batch, or an offline log dir, is logged once by the store, not at every fetch.
      if ((e as { reported?: boolean }).reported !== true) {
        svc.log("error", `read of ${p.topic}-${p.partition} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      d.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      d.records = [];
      ready = true;
      continue;
    }
    if (readCommitted) {
      // Only what is stable: batches starting below the LSO (an open transaction starts a batch).
      let n = 0;
      while (n < d.records.length && batchBaseOffsetNumber(d.records[n]) < lso) n++;
      if (n < d.records.length) d.records = d.records.slice(0, n);
      const last = n > 0 ? batchBaseOffsetNumber(d.records[n - 1]) + batchLastOffsetDelta(d.records[n - 1]) + 1 : from;
      d.abortedTransactions = state.abortedIn(from, last).map((a) => ({
        producerId: a.producerId,
        firstOffset: BigInt(a.firstOffset),
      }));
    }
    for (const b of d.records) bytes += b.length;
  }
  return { data, bytes, ready };
}
