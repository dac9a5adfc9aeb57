// DescribeShareGroupOffsets (key 90), v0 (KIP-932). Each share-partition's start offset (SPSO) for
// the groups asked about; topics null means every topic the group has state for. A partition the
// group has not read answers startOffset -1. Unknown topics: UNKNOWN_TOPIC_OR_PARTITION; unknown
// groups: GROUP_ID_NOT_FOUND. ACLs: DESCRIBE on the group, DESCRIBE on each topic.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeShareGroupOffsets } from "../../protocol/messages/90_describe_share_group_offsets.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { SHARE_DISABLED, shareEnabled } from "../share/gate.ts";
import { ZERO_UUID } from "../../protocol/codec.ts";

export default defineHandler(DescribeShareGroupOffsets, [0, 0], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  return {
    throttleTimeMs: 0,
    groups: req.groups.map((g) => {
      const fail = (errorCode: number, errorMessage: string) => ({
        groupId: g.groupId,
        topics: [],
        errorCode,
        errorMessage,
      });
      if (!shareEnabled(ctx)) return fail(ErrorCode.UNSUPPORTED_VERSION, SHARE_DISABLED);
      if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, g.groupId)) {
        return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
      }
      if (!svc.share.groups.has(g.groupId)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${g.groupId} not found.`);
      const asked = g.topics ??
        [...svc.share.statePartitions(g.groupId)].flatMap(([topicId, partitions]) => {
          const name = svc.topics.byId(topicId)?.name;
          return name === undefined ? [] : [{ topicName: name, partitions: partitions.sort((a, b) => a - b) }];
        });
      return {
        groupId: g.groupId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topics: asked.map((t) => {
          const topic = svc.topics.get(t.topicName);
          const denied = !allowed(ctx, Op.DESCRIBE, Res.TOPIC, t.topicName);
          return {
            topicName: t.topicName,
            topicId: topic?.id ?? ZERO_UUID,
            partitions: t.partitions.map((partitionIndex) => {
              const errorCode = denied
                ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
                : !topic?.partitions[partitionIndex]
                ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                : ErrorCode.NONE;
              return {
                partitionIndex,
                startOffset: errorCode === ErrorCode.NONE
                  ? BigInt(svc.share.startOffset(g.groupId, topic!.id, partitionIndex))
                  : -1n,
                leaderEpoch: errorCode === ErrorCode.NONE ? 0 : -1,
                errorCode,
                errorMessage: null,
              };
            }),
          };
        }),
      };
    }),
  };
});
