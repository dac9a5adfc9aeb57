// AlterShareGroupOffsets (key 91), v0 (KIP-932). Sets share-partition start offsets of a share
// group that has no members (NON_EMPTY_GROUP otherwise); what was in flight there is dropped. The
// group is created if it does not exist yet, as Kafka does. Unknown partitions:
// UNKNOWN_TOPIC_OR_PARTITION. ACLs: READ on the group, READ on each topic.
import { ErrorCode } from "../../protocol/errors.ts";
import { AlterShareGroupOffsets } from "../../protocol/messages/91_alter_share_group_offsets.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { SHARE_DISABLED, shareEnabled } from "../share/gate.ts";
import { ZERO_UUID } from "../../protocol/codec.ts";

export default defineHandler(AlterShareGroupOffsets, [0, 0], async (req, ctx) => {
  const svc = ctx.services;
  const top = (errorCode: number, errorMessage: string) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    responses: [],
  });
  if (!shareEnabled(ctx)) return top(ErrorCode.UNSUPPORTED_VERSION, SHARE_DISABLED);
  if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId)) {
    return top(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
  }
  const refused = svc.groups.coordinatorError(req.groupId);
  if (refused !== ErrorCode.NONE) return top(refused, "This broker does not coordinate the group now.");
  if (svc.groups.group(req.groupId)) {
    return top(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a share group.`);
  }
  if ((svc.share.groups.get(req.groupId)?.members.size ?? 0) > 0) {
    return top(ErrorCode.NON_EMPTY_GROUP, "The group is not empty: stop its members first.");
  }
  const codes = new Map<string, number>();
  const apply: { topicId: string; partition: number; startOffset: number }[] = [];
  for (const t of req.topics) {
    const topic = svc.topics.get(t.topicName);
    for (const p of t.partitions) {
      const code = !allowed(ctx, Op.READ, Res.TOPIC, t.topicName)
        ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
        : !topic?.partitions[p.partitionIndex]
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.NONE;
      codes.set(`${t.topicName}:${p.partitionIndex}`, code);
      if (code === ErrorCode.NONE) {
        apply.push({ topicId: topic!.id, partition: p.partitionIndex, startOffset: Number(p.startOffset) });
      }
    }
  }
  const stored = await svc.share.alterOffsets(req.groupId, apply);
  return {
    throttleTimeMs: 0,
    errorCode: stored === ErrorCode.NON_EMPTY_GROUP ? stored : ErrorCode.NONE,
    errorMessage: null,
    responses: req.topics.map((t) => ({
      topicName: t.topicName,
      topicId: svc.topics.get(t.topicName)?.id ?? ZERO_UUID,
      partitions: t.partitions.map((p) => {
        const code = codes.get(`${t.topicName}:${p.partitionIndex}`)!;
        return {
          partitionIndex: p.partitionIndex,
          errorCode: code === ErrorCode.NONE ? stored : code,
          errorMessage: null,
        };
      }),
    })),
  };
});
