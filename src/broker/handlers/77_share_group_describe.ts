// ShareGroupDescribe (key 77), v1 (KIP-932). State (Empty, Stable), epochs, the "simple" assignor
// and each member with its subscription and assignment. Unknown ids answer GROUP_ID_NOT_FOUND;
// authorized operations (the principal's on the group) when asked for. In a cluster, NOT_COORDINATOR
// (or COORDINATOR_LOAD_IN_PROGRESS) for a group coordinated elsewhere.
import { ErrorCode } from "../../protocol/errors.ts";
import { ShareGroupDescribe } from "../../protocol/messages/77_share_group_describe.ts";
import { allowed, authorizedOperations, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { SHARE_DISABLED, shareEnabled } from "../share/gate.ts";
import { OPERATIONS_OMITTED } from "../topic_admin.ts";

export default defineHandler(ShareGroupDescribe, [1, 1], LARGE_RESPONSE, (req, ctx) => {
  const share = ctx.services.share;
  return {
    throttleTimeMs: 0,
    groups: req.groupIds.map((groupId) => {
      const missing = (errorCode: number, errorMessage: string) => ({
        errorCode,
        errorMessage,
        groupId,
        groupState: "Dead",
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: "",
        members: [],
        authorizedOperations: OPERATIONS_OMITTED,
      });
      if (!shareEnabled(ctx)) return missing(ErrorCode.UNSUPPORTED_VERSION, SHARE_DISABLED);
      // ACLs: DESCRIBE on the group.
      if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, groupId)) {
        return missing(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
      }
      const refused = ctx.services.groups.coordinatorError(groupId);
      if (refused !== ErrorCode.NONE) return missing(refused, "This broker does not coordinate the group now.");
      const g = share.groups.get(groupId);
      if (!g) return missing(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: g.state,
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: "simple",
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribed,
          assignment: { topicPartitions: share.describeMember(m) },
        })),
        authorizedOperations: req.includeAuthorizedOperations
          ? authorizedOperations(ctx, Res.GROUP, groupId)
          : OPERATIONS_OMITTED,
      };
    }),
  };
});
