// DeleteShareGroupOffsets (key 92), v0 (KIP-932). Drops a share group's state of whole topics (the
// next read starts again per share.auto.offset.reset); the group must have no members
// (NON_EMPTY_GROUP). Unknown groups: GROUP_ID_NOT_FOUND; unknown topics: UNKNOWN_TOPIC_OR_PARTITION.
// ACLs: DELETE on the group, READ on each topic.
import { ErrorCode } from "../../protocol/errors.ts";
import { DeleteShareGroupOffsets } from "../../protocol/messages/92_delete_share_group_offsets.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { SHARE_DISABLED, shareEnabled } from "../share/gate.ts";
import { ZERO_UUID } from "../../protocol/codec.ts";

export default defineHandler(DeleteShareGroupOffsets, [0, 0], async (req, ctx) => {
  const svc = ctx.services;
  const top = (errorCode: number, errorMessage: string) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    responses: [],
  });
  if (!shareEnabled(ctx)) return top(ErrorCode.UNSUPPORTED_VERSION, SHARE_DISABLED);
  if (!allowed(ctx, Op.DELETE, Res.GROUP, req.groupId)) {
    return top(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
  }
  const refused = svc.groups.coordinatorError(req.groupId);
  if (refused !== ErrorCode.NONE) return top(refused, "This broker does not coordinate the group now.");
  const g = svc.share.groups.get(req.groupId);
  if (!g) return top(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} not found.`);
  if (g.members.size > 0) return top(ErrorCode.NON_EMPTY_GROUP, "The group is not empty: stop its members first.");
  const codes = req.topics.map((t) =>
    !allowed(ctx, Op.READ, Res.TOPIC, t.topicName)
      ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
      : svc.topics.get(t.topicName)
      ? ErrorCode.NONE
      : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  );
  const ids = req.topics.filter((_, i) => codes[i] === ErrorCode.NONE).map((t) => svc.topics.get(t.topicName)!.id);
  const stored = await svc.share.deleteOffsets(req.groupId, ids);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    responses: req.topics.map((t, i) => ({
      topicName: t.topicName,
      topicId: svc.topics.get(t.topicName)?.id ?? ZERO_UUID,
      errorCode: codes[i] === ErrorCode.NONE ? stored : codes[i],
      errorMessage: null,
    })),
  };
});
