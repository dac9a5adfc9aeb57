// ListGroups (key 16), v0-5. Every group this coordinator knows, classic, consumer and share.
// Behaviour: v4+ filter by state (case-insensitive: Empty, PreparingRebalance,
// CompletingRebalance, Stable for classic; Empty, Assigning, Reconciling, Stable for consumer
// groups; Empty, Stable for share groups), v5+ by type ("classic", "consumer", "share"). Groups
// holding only committed offsets are listed as
// Empty classic groups with protocol type "", as Kafka does.
import { ErrorCode } from "../../protocol/errors.ts";
import { ListGroups } from "../../protocol/messages/16_list_groups.ts";
import { allowed, clusterAllowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

// ACLs: DESCRIBE on the cluster lists every group, else those with DESCRIBE on the group.
export default defineHandler(ListGroups, [0, 5], LARGE_RESPONSE, (req, ctx) => {
  const all = clusterAllowed(ctx, Op.DESCRIBE);
  const states = ctx.apiVersion >= 4 ? req.statesFilter : [];
  const types = ctx.apiVersion >= 5 ? req.typesFilter : [];
  const groups = ctx.services.groups.listGroups(states, types);
  // Share groups (KIP-932), protocol type "share".
  const wantState = new Set(states.map((s) => s.toLowerCase()));
  if (!types.length || types.some((t) => t.toLowerCase() === "share")) {
    for (const g of ctx.services.share.groups.values()) {
      if (wantState.size && !wantState.has(g.state.toLowerCase())) continue;
      // In a cluster: the share groups this broker coordinates (others know of them from stored state).
      if (ctx.services.groups.coordinatorError(g.groupId) !== ErrorCode.NONE) continue;
      groups.push({ groupId: g.groupId, protocolType: "share", groupState: g.state, groupType: "share" });
    }
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    groups: all ? groups : groups.filter((g) => allowed(ctx, Op.DESCRIBE, Res.GROUP, g.groupId)),
  };
});
