// OffsetCommit (key 8), v0-9. Stores committed offsets (with leader epoch and metadata) for a group.
// Behaviour: Kafka's checks. Classic groups: generation -1 with no member id commits only while
// the group is Empty (or has no group at all: a "simple" group is created); otherwise the member
// must belong to the group (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) at the current generation
// (ILLEGAL_GENERATION); commits during CompletingRebalance get REBALANCE_IN_PROGRESS, commits of
// the previous generation while PreparingRebalance are accepted. KIP-848 groups (v9 member
// epochs): UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH. Per partition: UNKNOWN_TOPIC_OR_PARTITION,
// OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes). The response waits until the records are
// appended to __consumer_offsets. v0 (ZooKeeper-era) offsets are stored like any other. v2-4
// retentionTimeMs sets an explicit expiry; v1 commitTimestamp is ignored (Kafka too, since 2.1).
// A share group's id: GROUP_ID_NOT_FOUND on every partition (Kafka: "Group G is not a consumer group."), and no
// "simple" group is created under it.
import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetCommit } from "../../protocol/messages/08_offset_commit.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { isShareGroup } from "../share/gate.ts";

export default defineHandler(OffsetCommit, [0, 9], async (req, ctx) => {
  const v = ctx.apiVersion;
  // ACLs: READ on the group (every partition GROUP_AUTHORIZATION_FAILED), READ on each topic.
  const each = (code: number, only?: (name: string) => boolean) =>
    req.topics.filter((t) => !only || only(t.name)).map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })),
    }));
  if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId)) {
    return { throttleTimeMs: 0, topics: each(ErrorCode.GROUP_AUTHORIZATION_FAILED) };
  }
  const canRead = (name: string) => allowed(ctx, Op.READ, Res.TOPIC, name);
  const denied = each(ErrorCode.TOPIC_AUTHORIZATION_FAILED, (n) => !canRead(n));
  if (isShareGroup(ctx.services, req.groupId)) {
    return { throttleTimeMs: 0, topics: [...each(ErrorCode.GROUP_ID_NOT_FOUND, canRead), ...denied] };
  }
  const committed = await ctx.services.groups.commitOffsets({
    groupId: req.groupId,
    generationIdOrMemberEpoch: v >= 1 ? req.generationIdOrMemberEpoch : -1,
    memberId: v >= 1 ? (req.memberId ?? "") : "",
    groupInstanceId: v >= 7 ? req.groupInstanceId : null,
    retentionTimeMs: v >= 2 && v <= 4 ? req.retentionTimeMs : -1n,
    topics: req.topics.filter((t) => canRead(t.name)).map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        committedOffset: p.committedOffset,
        committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata,
      })),
    })),
  });
  return { throttleTimeMs: 0, topics: [...committed, ...denied] };
});
