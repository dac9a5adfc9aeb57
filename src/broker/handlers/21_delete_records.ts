// DeleteRecords (key 21), v0-2. Moves each partition's log start offset (low watermark) forward.
// Behaviour: offset -1 means the high watermark; an offset above the high watermark or below -1
// gets OFFSET_OUT_OF_RANGE; one at or below the current log start changes nothing. The answer is
// the new low watermark. The file engine checkpoints the log start and drops whole segments below
// it; records left in a partly covered segment stay on disk but are no longer served: a fetch below
// the log start gets OFFSET_OUT_OF_RANGE and ListOffsets earliest returns the new start.
// Unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION (also one deleted during the call); a
// storage failure KAFKA_STORAGE_ERROR.
// timeoutMs is ignored (there are no replicas to wait for).
import { ErrorCode } from "../../protocol/errors.ts";
import { DeleteRecords } from "../../protocol/messages/21_delete_records.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(DeleteRecords, [0, 2], async (req, ctx) => {
  const svc = ctx.services;
  const topics = await Promise.all(req.topics.map(async (t) => {
    const topic = svc.topics.get(t.name);
    // ACLs: DELETE on the topic.
    const denied = !allowed(ctx, Op.DELETE, Res.TOPIC, t.name);
    const partitions = await Promise.all(t.partitions.map(async (p) => {
      if (denied) {
        return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
      }
      const log = topic?.partitions[p.partitionIndex];
      if (!log) {
        return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      }
      const end = BigInt(log.logEndOffset);
      const to = p.offset === -1n ? end : p.offset;
      if (to < 0n || to > end) {
        return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
      }
      try {
        await log.advanceLogStart(Number(to));
      } catch (e) {
        // Deleted under the call (DeleteTopics removed its files): the partition is gone.
        if (svc.topics.get(t.name)?.partitions[p.partitionIndex] !== log) {
          return {
            partitionIndex: p.partitionIndex,
            lowWatermark: -1n,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          };
        }
        svc.log(
          "error",
          `DeleteRecords on ${t.name}-${p.partitionIndex} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
        return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
      }
      return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(log.logStartOffset), errorCode: ErrorCode.NONE };
    }));
    return { name: t.name, partitions };
  }));
  return { throttleTimeMs: 0, topics };
});
