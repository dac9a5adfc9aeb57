// SyncGroup (key 14), v0-5. The leader hands in the assignment; every member gets its own.
// Behaviour: parked until the leader's SyncGroup arrives (and the group record is stored); then
// the group is Stable. A member that never syncs is removed after the rebalance timeout and the
// group rebalances. Errors: UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, ILLEGAL_GENERATION,
// REBALANCE_IN_PROGRESS (rebalance under way or restarted), INCONSISTENT_GROUP_PROTOCOL (v5
// protocolType/protocolName not the group's), UNKNOWN_SERVER_ERROR when the group record could
// not be stored (e.g. larger than message.max.bytes), NOT_COORDINATOR at shutdown.
// Assignments for unknown member ids are ignored; members missing from them get an empty one. A share
// group's id: UNKNOWN_MEMBER_ID, as Kafka's classicGroupSync answers a group of another type.
import { ErrorCode } from "../../protocol/errors.ts";
import { SyncGroup } from "../../protocol/messages/14_sync_group.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { isShareGroup } from "../share/gate.ts";

export default defineHandler(SyncGroup, [0, 5], async (req, ctx) => {
  const v = ctx.apiVersion;
  // ACLs: READ on the group.
  const refused = !allowed(ctx, Op.READ, Res.GROUP, req.groupId)
    ? ErrorCode.GROUP_AUTHORIZATION_FAILED
    : isShareGroup(ctx.services, req.groupId)
    ? ErrorCode.UNKNOWN_MEMBER_ID
    : ErrorCode.NONE;
  if (refused !== ErrorCode.NONE) {
    return {
      throttleTimeMs: 0,
      errorCode: refused,
      protocolType: null,
      protocolName: null,
      assignment: new Uint8Array(0),
    };
  }
  const r = await ctx.services.groups.syncGroup(
    req.groupId,
    req.memberId,
    v >= 3 ? req.groupInstanceId : null,
    req.generationId,
    v >= 5 ? req.protocolType : null,
    v >= 5 ? req.protocolName : null,
    req.assignments,
  );
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    protocolType: r.protocolType,
    protocolName: r.protocolName,
    assignment: r.assignment,
  };
});
