// LeaveGroup (key 13), v0-5. Removes members from a classic group, which then rebalances.
// Behaviour: v0-2 name one member (its error is the top-level error); v3+ name several, by member
// id and/or group instance id, each with its own error (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID when
// the instance id belongs to another member id). A member id still pending (MEMBER_ID_REQUIRED)
// is simply forgotten. Unknown group, or a share group's id (Kafka's classicGroupLeave): UNKNOWN_MEMBER_ID at
// the top level.
// Not implemented: the reason (v5) is not recorded.
import { ErrorCode } from "../../protocol/errors.ts";
import { LeaveGroup } from "../../protocol/messages/13_leave_group.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { isShareGroup } from "../share/gate.ts";

export default defineHandler(LeaveGroup, [0, 5], (req, ctx) => {
  const v = ctx.apiVersion;
  const members = v >= 3
    ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
    : [{ memberId: req.memberId, groupInstanceId: null }];
  // ACLs: READ on the group.
  const r = !allowed(ctx, Op.READ, Res.GROUP, req.groupId)
    ? { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] }
    : isShareGroup(ctx.services, req.groupId)
    ? { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] }
    : ctx.services.groups.leaveGroup(req.groupId, members);
  if (v < 3) return { throttleTimeMs: 0, errorCode: r.errorCode !== ErrorCode.NONE ? r.errorCode : r.members[0] };
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    members: r.errorCode !== ErrorCode.NONE
      ? []
      : members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: r.members[i] })),
  };
});
