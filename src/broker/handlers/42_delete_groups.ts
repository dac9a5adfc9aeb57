// DeleteGroups (key 42), v0-2. Deletes empty groups and their committed offsets.
// Behaviour: per group: INVALID_GROUP_ID (empty id), GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP (members
// present or a rebalance under way). Tombstones for the offsets and the group are appended to
// __consumer_offsets before the answer. A share group (KIP-932) is deleted with its share-partition
// states (tombstones in __share_group_state).
import { ErrorCode } from "../../protocol/errors.ts";
import { DeleteGroups } from "../../protocol/messages/42_delete_groups.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import type { RequestContext } from "../handler.ts";
import { defineHandler } from "../handler.ts";

/** In a cluster, a share group is deleted by its coordinator only (NOT_COORDINATOR elsewhere). */
function shareRefused(ctx: RequestContext, groupId: string): number | null {
  const code = ctx.services.groups.coordinatorError(groupId);
  return code === ErrorCode.NONE ? null : code;
}

export default defineHandler(DeleteGroups, [0, 2], async (req, ctx) => {
  const results = [];
  // ACLs: DELETE on each group.
  for (const groupId of req.groupsNames) {
    results.push({
      groupId,
      errorCode: !allowed(ctx, Op.DELETE, Res.GROUP, groupId)
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : ctx.services.share.groups.has(groupId)
        ? shareRefused(ctx, groupId) ?? await ctx.services.share.deleteGroup(groupId)
        : await ctx.services.groups.deleteGroup(groupId),
    });
  }
  return { throttleTimeMs: 0, results };
});
