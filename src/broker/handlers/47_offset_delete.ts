// OffsetDelete (key 47), v0. Deletes committed offsets of some partitions of a group.
// Behaviour: GROUP_ID_NOT_FOUND for an unknown group; a non-empty classic group whose protocol
// type is not "consumer" gets NON_EMPTY_GROUP; partitions of a topic the group subscribes to
// (classic members' subscription metadata, KIP-848 names and regex) get GROUP_SUBSCRIBED_TO_TOPIC;
// unknown topics or partitions UNKNOWN_TOPIC_OR_PARTITION. Deleting an offset that does not exist
// succeeds.
import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetDelete } from "../../protocol/messages/47_offset_delete.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(OffsetDelete, [0, 0], async (req, ctx) => {
  // ACLs: DELETE on the group, READ on each topic (TOPIC_AUTHORIZATION_FAILED for its partitions).
  if (!allowed(ctx, Op.DELETE, Res.GROUP, req.groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
  }
  const canRead = (name: string) => allowed(ctx, Op.READ, Res.TOPIC, name);
  const r = await ctx.services.groups.deleteOffsets(req.groupId, req.topics.filter((t) => canRead(t.name)));
  const denied = req.topics.filter((t) => !canRead(t.name)).map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    })),
  }));
  return {
    errorCode: r.errorCode,
    throttleTimeMs: 0,
    topics: r.errorCode === ErrorCode.NONE ? [...r.topics, ...denied] : r.topics,
  };
});
