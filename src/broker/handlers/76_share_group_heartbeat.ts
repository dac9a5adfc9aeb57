// ShareGroupHeartbeat (key 76), v1 (KIP-932). Joins (memberEpoch 0, with the member's own id and
// its subscription), heartbeats in and leaves (-1) a share group; the answer carries the member's
// assignment (topic ids and partitions) whenever it changed. Behaviour: share/coordinator.ts.
// Errors: UNSUPPORTED_VERSION while share.version is 0, INVALID_REQUEST (empty ids, no subscription
// on join), UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, GROUP_MAX_SIZE_REACHED, GROUP_ID_NOT_FOUND (the
// id is a classic or consumer group's), GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED
// (a subscribed topic the principal may not describe). v0 (Kafka 4.0's early access) is not offered.
// In a cluster, NOT_COORDINATOR (or COORDINATOR_LOAD_IN_PROGRESS) for a group coordinated elsewhere
// (the leader of the group's __consumer_offsets partition coordinates it, as a consumer group).
import { ErrorCode } from "../../protocol/errors.ts";
import { ShareGroupHeartbeat } from "../../protocol/messages/76_share_group_heartbeat.ts";
import { clientHostOf } from "../groups/coordinator.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { heartbeatFailure } from "../share/coordinator.ts";
import { SHARE_DISABLED, shareEnabled } from "../share/gate.ts";

export default defineHandler(ShareGroupHeartbeat, [1, 1], async (req, ctx) => {
  const fail = (errorCode: number, errorMessage: string) => ({
    throttleTimeMs: 0,
    ...heartbeatFailure(errorCode, errorMessage),
  });
  if (!shareEnabled(ctx)) return fail(ErrorCode.UNSUPPORTED_VERSION, SHARE_DISABLED);
  // ACLs: READ on the group, DESCRIBE on each subscribed topic.
  if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId)) {
    return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
  }
  const denied = (req.subscribedTopicNames ?? []).filter((t) => !allowed(ctx, Op.DESCRIBE, Res.TOPIC, t));
  if (denied.length > 0) {
    return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Topic authorization failed for topics [${denied.join(", ")}]`);
  }
  const refused = ctx.services.groups.coordinatorError(req.groupId);
  if (refused !== ErrorCode.NONE) return fail(refused, "This broker does not coordinate the group now.");
  if (ctx.services.groups.group(req.groupId)) {
    return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a share group.`);
  }
  const r = await ctx.services.share.heartbeat(req.groupId, {
    memberId: req.memberId,
    memberEpoch: req.memberEpoch,
    rackId: req.rackId,
    subscribedTopicNames: req.subscribedTopicNames,
    clientId: ctx.clientId ?? "",
    clientHost: clientHostOf(ctx.session.remote),
  });
  return { throttleTimeMs: 0, ...r };
});
