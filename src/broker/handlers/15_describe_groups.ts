// DescribeGroups (key 15), v0-5. Classic groups: state, protocol, members.
// Behaviour: as Kafka's GroupMetadata.summary: members with their metadata (for the selected
// protocol) and assignment only when Stable; in other states members are listed without them and
// protocolData is "". An unknown group, or a KIP-848 consumer group (described by
// ConsumerGroupDescribe), answers state "Dead" with no error, as Kafka does before v6.
// Authorized operations (v3+) are all group operations when asked for (no ACLs yet).
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeGroups } from "../../protocol/messages/15_describe_groups.ts";
import { defineHandler } from "../handler.ts";
import { GROUP_OPERATIONS, OPERATIONS_OMITTED } from "../topic_admin.ts";

const EMPTY = new Uint8Array(0);

export default defineHandler(DescribeGroups, [0, 5], (req, ctx) => {
  const ops = req.includeAuthorizedOperations ? GROUP_OPERATIONS : OPERATIONS_OMITTED;
  return {
    throttleTimeMs: 0,
    groups: req.groups.map((groupId) => {
      const g = ctx.services.groups.group(groupId);
      if (groupId === "") {
        return { errorCode: ErrorCode.INVALID_GROUP_ID, groupId, groupState: "", protocolType: "", protocolData: "", members: [], authorizedOperations: ops };
      }
      if (!g || g.kind !== "classic") {
        return { errorCode: ErrorCode.NONE, groupId, groupState: "Dead", protocolType: "", protocolData: "", members: [], authorizedOperations: ops };
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
