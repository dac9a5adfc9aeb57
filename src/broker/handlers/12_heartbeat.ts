// Heartbeat (key 12), v0-4. Keeps a classic-group member alive and tells it when to rejoin.
// Behaviour: as Kafka: UNKNOWN_MEMBER_ID (unknown group or member), FENCED_INSTANCE_ID (static
// member replaced), ILLEGAL_GENERATION (stale generation), REBALANCE_IN_PROGRESS while the group
// prepares a rebalance (the session is still renewed), NONE when CompletingRebalance or Stable.
// A classic member of a consumer group (online migration) gets REBALANCE_IN_PROGRESS while the
// coordinator's assignment for it differs from what it holds. A share group's id: UNKNOWN_MEMBER_ID, as
// Kafka's GroupMetadataManager.classicGroupHeartbeat answers a group of another type.
import { ErrorCode } from "../../protocol/errors.ts";
import { Heartbeat } from "../../protocol/messages/12_heartbeat.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { isShareGroup } from "../share/gate.ts";

export default defineHandler(Heartbeat, [0, 4], async (req, ctx) => ({
  throttleTimeMs: 0,
  // ACLs: READ on the group.
  errorCode: !allowed(ctx, Op.READ, Res.GROUP, req.groupId)
    ? ErrorCode.GROUP_AUTHORIZATION_FAILED
    : isShareGroup(ctx.services, req.groupId)
    ? ErrorCode.UNKNOWN_MEMBER_ID
    : await ctx.services.groups.heartbeat(
      req.groupId,
      req.memberId,
      ctx.apiVersion >= 3 ? req.groupInstanceId : null,
      req.generationId,
    ),
}));
