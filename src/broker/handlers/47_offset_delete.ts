// OffsetDelete (key 47), v0. Deletes committed offsets of some partitions of a group.
// Behaviour: GROUP_ID_NOT_FOUND for an unknown group; a non-empty classic group whose protocol
// type is not "consumer" gets NON_EMPTY_GROUP; partitions of a topic the group subscribes to
// (classic members' subscription metadata, KIP-848 names and regex) get GROUP_SUBSCRIBED_TO_TOPIC;
// unknown topics or partitions UNKNOWN_TOPIC_OR_PARTITION. Deleting an offset that does not exist
// succeeds.
import { OffsetDelete } from "../../protocol/messages/47_offset_delete.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(OffsetDelete, [0, 0], async (req, ctx) => {
  const r = await ctx.services.groups.deleteOffsets(req.groupId, req.topics);
  return { errorCode: r.errorCode, throttleTimeMs: 0, topics: r.topics };
});
