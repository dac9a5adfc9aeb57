// DescribeGroups (key 15), v0-6. Classic groups: state, protocol, members.
// Behaviour: as Kafka's GroupMetadata.summary: members with their metadata (for the selected
// protocol) and assignment only when Stable; in other states members are listed without them and
// protocolData is "". A KIP-848 consumer group is described in the classic shape, as Kafka 4.0
// does since members of both protocols can share it: its state (Empty, Assigning, Reconciling,
// Stable), protocol type "consumer", the assignor as protocolData, and per member its
// subscription (a classic member's own metadata) and current assignment as the embedded consumer
// protocol's bytes. An unknown group answers state "Dead" with no error, as Kafka does before v6;
// from v6 (KIP-1043) also GROUP_ID_NOT_FOUND with a message. v6 adds errorMessage (null otherwise).
// Authorized operations (v3+) are the principal's on the group (all of them without an authorizer).
// In a cluster, a group this broker does not coordinate answers NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS
// while its __consumer_offsets partition loads here).
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeGroups } from "../../protocol/messages/15_describe_groups.ts";
import { encodeAssignment, encodeSubscription } from "../groups/migration.ts";
import { allowed, authorizedOperations, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { OPERATIONS_OMITTED } from "../topic_admin.ts";

const EMPTY = new Uint8Array(0);

export default defineHandler(DescribeGroups, [0, 6], LARGE_RESPONSE, (req, ctx) => {
  return {
    throttleTimeMs: 0,
    groups: req.groups.map((groupId) => {
      const ops = req.includeAuthorizedOperations ? authorizedOperations(ctx, Res.GROUP, groupId) : OPERATIONS_OMITTED;
      const g = ctx.services.groups.group(groupId);
      if (groupId === "") {
        return {
          errorCode: ErrorCode.INVALID_GROUP_ID,
          groupId,
          groupState: "",
          protocolType: "",
          protocolData: "",
          members: [],
          authorizedOperations: ops,
        };
      }
      // ACLs: DESCRIBE on the group.
      if (!allowed(ctx, Op.DESCRIBE, Res.GROUP, groupId)) {
        return {
          errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
          groupId,
          groupState: "",
          protocolType: "",
          protocolData: "",
          members: [],
          authorizedOperations: ops,
        };
      }
      // In a cluster, a group whose coordinator is another broker (or still loading here).
      const refused = ctx.services.groups.coordinatorError(groupId);
      if (refused !== ErrorCode.NONE) {
        return {
          errorCode: refused,
          groupId,
          groupState: "",
          protocolType: "",
          protocolData: "",
          members: [],
          authorizedOperations: ops,
        };
      }
      if (!g) {
        return {
          errorCode: ctx.apiVersion >= 6 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.NONE,
          errorMessage: ctx.apiVersion >= 6 ? `Group ${groupId} not found.` : null,
          groupId,
          groupState: "Dead",
          protocolType: "",
          protocolData: "",
          members: [],
          authorizedOperations: ops,
        };
      }
      if (g.kind === "consumer") {
        return {
          errorCode: ErrorCode.NONE,
          groupId,
          groupState: g.state,
          protocolType: "consumer",
          protocolData: g.assignorName(),
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.instanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.classic
              ? m.classic.protocols[0].metadata
              : encodeSubscription(m.subscribedTopicNames, m.rackId),
            memberAssignment: encodeAssignment(g.namedAssignment(m), m.classic?.subscriptionVersion ?? 3),
          })),
          authorizedOperations: ops,
        };
      }
      const stable = g.state === "Stable";
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: g.state,
        protocolType: g.protocolType ?? "",
        protocolData: stable ? (g.protocolName ?? "") : "",
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? m.metadataFor(g.protocolName) : EMPTY,
          memberAssignment: stable ? m.assignment : EMPTY,
        })),
        authorizedOperations: ops,
      };
    }),
  };
});
