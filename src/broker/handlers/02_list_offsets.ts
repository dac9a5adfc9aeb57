// ListOffsets (key 2), v1-10. Offsets by timestamp: -2 earliest (log start), -1 latest (high
// watermark; the last stable offset under read_committed, v2+), -3 max timestamp (v7+, KIP-734),
// -4 earliest local (v8+: the log start, as nothing is tiered), -5 latest tiered (v9+: -1, as
// nothing is tiered), else the first record whose timestamp is >= the one asked (-1 when none).
// Leader epoch 0. Versions: v0 (the old offsets-array form) is not offered, as in Kafka 4.0 (KIP-896).
import { ErrorCode } from "../../protocol/errors.ts";
import { ListOffsets } from "../../protocol/messages/02_list_offsets.ts";
import { decodeRecords } from "../../protocol/record_batch.ts";
import type { PartitionLog } from "../../storage/store.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { producerStateOf } from "../txn/coordinator.ts";
import { WorkYielder } from "../yield.ts";
import { offsetForTimestamp } from "../log_scan.ts";

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;

type Answer = { errorCode: number; timestamp: bigint; offset: bigint; leaderEpoch: number };
const none = (errorCode: number): Answer => ({ errorCode, timestamp: -1n, offset: -1n, leaderEpoch: -1 });

export default defineHandler(ListOffsets, [1, 10], async (req, ctx) => {
  const svc = ctx.services;
  // Tens of thousands of entries give the event loop turns while they start (yield.ts).
  const work = new WorkYielder(ctx);
  const topics = await work.map(req.topics, async (t) => {
    const topic = svc.topics.get(t.name);
    const authorized = allowed(ctx, Op.DESCRIBE, Res.TOPIC, t.name);
    const partitions = await work.map(t.partitions, async (p) => {
      const log = topic?.partitions[p.partitionIndex];
      const epoch = svc.cluster.leader(t.name, p.partitionIndex).epoch;
      let a: Answer;
      if (!authorized) a = none(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      else if (!log) a = none(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else if (!svc.cluster.leads(t.name, p.partitionIndex)) a = none(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      else if (p.currentLeaderEpoch > epoch) a = none(ErrorCode.UNKNOWN_LEADER_EPOCH);
      else if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < epoch) {
        a = none(ErrorCode.FENCED_LEADER_EPOCH);
      } else {
        try {
          a = await lookup(
            log,
            p.timestamp,
            ctx.apiVersion >= 2 && req.isolationLevel === 1,
            epoch,
          );
        } catch (e) {
          svc.log(
            "error",
            `offset lookup in ${t.name}-${p.partitionIndex} failed: ${e instanceof Error ? e.message : String(e)}`,
          );
          a = none(ErrorCode.KAFKA_STORAGE_ERROR);
        }
      }
      return { partitionIndex: p.partitionIndex, ...a };
    });
    return { name: t.name, partitions };
  });
  return { throttleTimeMs: 0, topics };
});

async function lookup(log: PartitionLog, ts: bigint, readCommitted: boolean, leaderEpoch: number): Promise<Answer> {
  const ok = (offset: number | bigint, timestamp = -1n): Answer => ({
    errorCode: ErrorCode.NONE,
    timestamp,
    offset: BigInt(offset),
    leaderEpoch,
  });
  const start = BigInt(log.logStartOffset);
  if (ts === LATEST) {
    return ok(readCommitted ? producerStateOf(log).lastStableOffset(log.logEndOffset) : log.logEndOffset);
  }
  if (ts === EARLIEST || ts === EARLIEST_LOCAL) return ok(log.logStartOffset);
  if (ts === LATEST_TIERED) return { errorCode: ErrorCode.NONE, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
  if (ts === MAX_TIMESTAMP) {
    const found = await log.maxTimestampBatch();
    if (!found) return { errorCode: ErrorCode.NONE, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
    let best: { offset: bigint; timestamp: bigint } | null = null;
    for (const r of decodeRecords(found.batch).records) {
      if (r.offset < start) continue;
      if (!best || r.timestamp > best.timestamp) best = { offset: r.offset, timestamp: r.timestamp };
    }
    return best ? ok(best.offset, best.timestamp) : ok(log.logEndOffset);
  }
  if (ts < 0n) return none(ErrorCode.INVALID_REQUEST);
  const found = await offsetForTimestamp(log, Number(ts));
  if (found) return ok(found.offset, found.timestamp);
  return { errorCode: ErrorCode.NONE, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
}
