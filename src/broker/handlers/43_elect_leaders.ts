// ElectLeaders (key 43), v0-2. Preferred (0) or unclean (1) leader election. One node is already
// the preferred leader of every partition, so each named partition gets ELECTION_NOT_NEEDED and
// unknown ones UNKNOWN_TOPIC_OR_PARTITION. A null partition list (all partitions) answers an empty
// list: Kafka leaves out partitions for which no election was needed. An election type other than
// 0 or 1 is INVALID_REQUEST (top level from v1).
import { ErrorCode } from "../../protocol/errors.ts";
import { ElectLeaders } from "../../protocol/messages/43_elect_leaders.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(ElectLeaders, [0, 2], (req, ctx) => {
  const svc = ctx.services;
  // ACLs: ALTER on the cluster.
  if (!clusterAllowed(ctx, Op.ALTER)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults: [] };
  }
  if (req.electionType !== 0 && req.electionType !== 1) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.INVALID_REQUEST,
      replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
        topic: t.topic,
        partitionResult: t.partitions.map((partitionId) => ({
          partitionId,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `Unknown election type ${req.electionType}`,
        })),
      })),
    };
  }
  const replicaElectionResults = (req.topicPartitions ?? []).map((t) => {
    const topic = svc.topics.get(t.topic);
    return {
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) =>
        topic?.partitions[partitionId]
          ? {
            partitionId,
            errorCode: ErrorCode.ELECTION_NOT_NEEDED,
            errorMessage: "Leader election not needed for topic partition.",
          }
          : {
            partitionId,
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: "This server does not host this topic-partition.",
          }
      ),
    };
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults };
});
