// ElectLeaders (key 43), v0-2. Preferred (0) or unclean (1) leader election. One node is already
// the preferred leader of every partition, so each named partition gets ELECTION_NOT_NEEDED and
// unknown ones UNKNOWN_TOPIC_OR_PARTITION. A null partition list (all partitions) answers an empty
// list: Kafka leaves out partitions for which no election was needed. An election type other than
// 0 or 1 is INVALID_REQUEST (top level from v1).
// In a cluster on PostgreSQL (Cluster.electPreferred), PREFERRED through any broker: a partition led by its
// preferred leader gets ELECTION_NOT_NEEDED, one whose preferred leader is not live
// PREFERRED_LEADER_NOT_AVAILABLE, the others NONE once they moved to their preferred leader (each leader hands them
// over cleanly at its next beat, this broker at once; requests arriving together all apply), or REQUEST_TIMED_OUT
// if they had not within the request's timeoutMs (as Kafka's delayed election). A null list answers the partitions
// elected. Unclean elections: there are no replicas, so ELECTION_NOT_NEEDED as on one node.
import { ErrorCode } from "../../protocol/errors.ts";
import { ElectLeaders } from "../../protocol/messages/43_elect_leaders.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { partitionKey } from "../fetch_sessions.ts";
import type { Services } from "../services.ts";

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
  if (req.electionType === 0 && svc.cluster.electPreferred) {
    return electPreferred(svc, req.topicPartitions, req.timeoutMs);
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

const MESSAGES: Record<number, string | null> = {
  [ErrorCode.NONE]: null,
  [ErrorCode.ELECTION_NOT_NEEDED]: "Leader election not needed for topic partition.",
  [ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE]: "The preferred leader is not live.",
  [ErrorCode.REQUEST_TIMED_OUT]: "The election did not complete within the request's timeout.",
};

/** PREFERRED in a cluster: the election requested of every broker, the answer per partition (see the header). */
async function electPreferred(
  svc: Services,
  topics: readonly { topic: string; partitions: number[] }[] | null,
  timeoutMs: number,
) {
  const named = topics?.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))) ?? null;
  const codes = await svc.cluster.electPreferred!(named, timeoutMs);
  const result = (topic: string, partitionId: number) => {
    const code = codes.get(partitionKey(topic, partitionId));
    return code === undefined
      ? {
        partitionId,
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: "This server does not host this topic-partition.",
      }
      : { partitionId, errorCode: code, errorMessage: MESSAGES[code] ?? null };
  };
  if (topics !== null) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      replicaElectionResults: topics.map((t) => ({
        topic: t.topic,
        partitionResult: t.partitions.map((p) => result(t.topic, p)),
      })),
    };
  }
  const byTopic = new Map<string, number[]>();
  for (const [k, code] of codes) {
    if (code !== ErrorCode.NONE) continue;
    const i = k.lastIndexOf("\u0000");
    const topic = k.slice(0, i);
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(k.slice(i + 1))]);
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    replicaElectionResults: [...byTopic].map(([topic, ps]) => ({
      topic,
      partitionResult: ps.map((p) => result(topic, p)),
    })),
  };
}
