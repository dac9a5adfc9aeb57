// JoinGroup (key 11), v0-9. Joins a classic group; the response is parked until the rebalance
// completes (other requests on the connection are answered meanwhile).
// Behaviour: Kafka's state machine (groups/classic.ts). v4+: a new dynamic member first gets
// MEMBER_ID_REQUIRED with its member id and must rejoin with it. v5+: static membership
// (groupInstanceId); a second instance with the same id fences the first (FENCED_INSTANCE_ID).
// v0 has no rebalance timeout: the session timeout is used, as in Kafka. v9 sets skipAssignment
// when a static leader rejoins a Stable group unchanged. Errors: INVALID_GROUP_ID,
// INVALID_SESSION_TIMEOUT (outside group.min/max.session.timeout.ms), INCONSISTENT_GROUP_PROTOCOL,
// UNKNOWN_MEMBER_ID, GROUP_MAX_SIZE_REACHED, REBALANCE_IN_PROGRESS (superseded parked join),
// NOT_COORDINATOR at shutdown.
// A share group's id is INCONSISTENT_GROUP_PROTOCOL (with an empty member id), as in Kafka.
// Not implemented: joining a non-empty KIP-848 consumer group with the classic protocol (online
// migration); it gets INCONSISTENT_GROUP_PROTOCOL. The reason field (v8) is only logged at debug.
import { ErrorCode } from "../../protocol/errors.ts";
import { JoinGroup } from "../../protocol/messages/11_join_group.ts";
import { joinFailure } from "../groups/classic.ts";
import { clientHostOf } from "../groups/coordinator.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { isShareGroup } from "../share/gate.ts";

export default defineHandler(JoinGroup, [0, 9], async (req, ctx) => {
  const v = ctx.apiVersion;
  // ACLs: READ on the group.
  const r = !allowed(ctx, Op.READ, Res.GROUP, req.groupId)
    ? joinFailure(ErrorCode.GROUP_AUTHORIZATION_FAILED, req.memberId)
    // Kafka's GroupMetadataManager.classicGroupJoin: a share group's id.
    : isShareGroup(ctx.services, req.groupId)
    ? joinFailure(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, "")
    : await ctx.services.groups.joinGroup(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId : null,
      clientId: ctx.clientId ?? "",
      clientHost: clientHostOf(ctx.session.remote),
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      requireKnownMemberId: v >= 4,
      version: v,
    });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Before v7 the protocol name is not nullable.
    protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ""),
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members,
  };
});
