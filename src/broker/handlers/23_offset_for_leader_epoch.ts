// OffsetForLeaderEpoch (key 23), v0-4. The end offset of a leader epoch, for clients' log
// truncation checks (KIP-320) and followers.
// Behaviour (Kafka's LeaderEpochFileCache.endOffsetFor): one node never changes leader, so every
// partition has one epoch, 0, starting at offset 0. Asking for epoch 0 gives the log end offset;
// a later epoch (unknown to us) gives epoch -1 and offset -1 (UNDEFINED), as does -1; an earlier
// (negative) epoch gives that epoch and offset 0, where epoch 0 starts. v2+ checks
// currentLeaderEpoch: newer than ours is UNKNOWN_LEADER_EPOCH, older FENCED_LEADER_EPOCH (-1 skips
// the check). Unknown partitions are UNKNOWN_TOPIC_OR_PARTITION. replicaId (v3+) is not checked:
// there are no followers, so a follower's request is answered like a consumer's.
import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetForLeaderEpoch } from "../../protocol/messages/23_offset_for_leader_epoch.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

const LEADER_EPOCH = 0;
/** Where each epoch starts: one node, one epoch. */
const EPOCHS = [{ epoch: LEADER_EPOCH, startOffset: 0 }];
const UNDEFINED = -1;

export default defineHandler(OffsetForLeaderEpoch, [0, 4], (req, ctx) => {
  const svc = ctx.services;
  const topics = req.topics.map((t) => {
    const topic = svc.topics.get(t.topic);
    // ACLs: DESCRIBE on the topic.
    const denied = !allowed(ctx, Op.DESCRIBE, Res.TOPIC, t.topic);
    return {
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const log = topic?.partitions[p.partition];
        const answer = (errorCode: number, leaderEpoch: number, endOffset: number) => ({
          errorCode,
          partition: p.partition,
          leaderEpoch,
          endOffset: BigInt(endOffset),
        });
        if (denied) return answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED, UNDEFINED, UNDEFINED);
        if (!log) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNDEFINED, UNDEFINED);
        if (!svc.cluster.leads(t.topic, p.partition)) {
          return answer(ErrorCode.NOT_LEADER_OR_FOLLOWER, UNDEFINED, UNDEFINED);
        }
        const current = svc.cluster.leader(t.topic, p.partition).epoch;
        if (ctx.apiVersion >= 2 && p.currentLeaderEpoch !== UNDEFINED) {
          if (p.currentLeaderEpoch > current) return answer(ErrorCode.UNKNOWN_LEADER_EPOCH, UNDEFINED, UNDEFINED);
          if (p.currentLeaderEpoch < current) return answer(ErrorCode.FENCED_LEADER_EPOCH, UNDEFINED, UNDEFINED);
        }
        // In a cluster on PostgreSQL the log is never truncated when leadership moves: every epoch
        // up to the current one ends at the log end (no divergence for a client to find).
        const [epoch, end] = current === LEADER_EPOCH
          ? endOffsetFor(p.leaderEpoch, log.logEndOffset)
          : p.leaderEpoch === UNDEFINED || p.leaderEpoch > current
          ? [UNDEFINED, UNDEFINED]
          : [p.leaderEpoch, log.logEndOffset];
        return answer(ErrorCode.NONE, epoch, end);
      }),
    };
  });
  return { throttleTimeMs: 0, topics };
});

/** Kafka's LeaderEpochFileCache.endOffsetFor over EPOCHS. */
function endOffsetFor(requested: number, logEndOffset: number): [number, number] {
  if (requested === UNDEFINED) return [UNDEFINED, UNDEFINED];
  const latest = EPOCHS[EPOCHS.length - 1];
  if (requested === latest.epoch) return [requested, logEndOffset];
  const higher = EPOCHS.find((e) => e.epoch > requested);
  if (!higher) return [UNDEFINED, UNDEFINED];
  const floor = EPOCHS.filter((e) => e.epoch <= requested).pop();
  return floor ? [floor.epoch, higher.startOffset] : [requested, higher.startOffset];
}
