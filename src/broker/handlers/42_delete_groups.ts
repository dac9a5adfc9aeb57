// DeleteGroups (key 42), v0-2. Deletes empty groups and their committed offsets.
// Behaviour: per group: INVALID_GROUP_ID (empty id), GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP (members
// present or a rebalance under way). Tombstones for the offsets and the group are appended to
// __consumer_offsets before the answer.
import { DeleteGroups } from "../../protocol/messages/42_delete_groups.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(DeleteGroups, [0, 2], async (req, ctx) => {
  const results = [];
  for (const groupId of req.groupsNames) results.push({ groupId, errorCode: await ctx.services.groups.deleteGroup(groupId) });
  return { throttleTimeMs: 0, results };
});
