// ConsumerGroupDescribe (key 69), v0 (KIP-848). Describes consumer groups: epochs, assignor, and
// per member its subscription, current assignment and target assignment (topic ids and names).
// Behaviour: GROUP_ID_NOT_FOUND for an unknown group or a classic group (with a message), as
// Kafka; INVALID_GROUP_ID for an empty id. States: Empty, Assigning, Reconciling, Stable.
// Authorized operations are the principal's on the group when asked for (all without an authorizer).
// In a cluster, NOT_COORDINATOR (or COORDINATOR_LOAD_IN_PROGRESS) for a group coordinated elsewhere.
import { ErrorCode } from "../../protocol/errors.ts";
import { ConsumerGroupDescribe } from "../../protocol/messages/69_consumer_group_describe.ts";
import type { TpMap } from "../groups/consumer.ts";
import { tpList } from "../groups/consumer.ts";
import { allowed, authorizedOperations, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import type { Services } from "../services.ts";
import { OPERATIONS_OMITTED } from "../topic_admin.ts";

function named(svc: Services, m: TpMap) {
  return {
    topicPartitions: tpList(m).map((t) => ({
      topicId: t.topicId,
      topicName: svc.topics.byId(t.topicId)?.name ?? "",
      partitions: t.partitions,
    })),
  };
}

export default defineHandler(ConsumerGroupDescribe, [0, 1], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  return {
    throttleTimeMs: 0,
    groups: req.groupIds.map((groupId) => {
      const ops = req.includeAuthorizedOperations ? authorizedOperations(ctx, Res.GROUP, groupId) : OPERATIONS_OMITTED;
      const g = svc.groups.group(groupId);
      const missing = (errorCode: number, errorMessage: string) => ({
        errorCode,
        errorMessage,
        groupId,
        groupState: "Dead",
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: "",
        members: [],
        authorizedOperations: ops,
      });
      if (groupId === "") return missing(ErrorCode.INVALID_GROUP_ID, "Group id can't be empty.");
      // ACLs: DESCRIBE on the group.
      if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, groupId)) {
        return missing(ErrorCode.GROUP_AUTHORIZATION_FAILED, "Group authorization failed.");
      }
      const refused = svc.groups.coordinatorError(groupId);
      if (refused !== ErrorCode.NONE) return missing(refused, "This broker does not coordinate the group now.");
      if (!g) return missing(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
      if (g.kind !== "consumer") {
        return missing(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`);
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: g.state,
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: g.assignorName(),
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: named(svc, m.assigned),
          targetAssignment: named(svc, g.targetOf(m.memberId)),
          // v1: 0 for a member that joined with the classic protocol, 1 for a consumer-protocol one.
          memberType: m.classic ? 0 : 1,
        })),
        authorizedOperations: ops,
      };
    }),
  };
});
