// AlterPartitionReassignments (key 45), v0-1. One node: the only valid target replica set is
// [this node], which is where every partition already is, so the reassignment completes at once
// (NONE). Other sets get Kafka's INVALID_REPLICA_ASSIGNMENT messages (empty list, a broker twice,
// an unregistered broker); cancelling (null replicas) gets NO_REASSIGNMENT_IN_PROGRESS, since none
// is ever ongoing; unknown partitions get UNKNOWN_TOPIC_OR_PARTITION. v1's
// allowReplicationFactorChange=false refuses a set whose size differs from the current one (Kafka's
// INVALID_REPLICATION_FACTOR); on one node the only valid set has the current size, so it never does.
import { ErrorCode } from "../../protocol/errors.ts";
import { AlterPartitionReassignments } from "../../protocol/messages/45_alter_partition_reassignments.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(AlterPartitionReassignments, [0, 1], (req, ctx) => {
  const svc = ctx.services;
  const node = svc.config.nodeId;
  const check = (replicas: number[] | null): [number, string | null] => {
    if (replicas === null) {
      return [ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, "No ongoing reassignment for this partition."];
    }
    if (replicas.length === 0) {
      return [ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."];
    }
    const seen = new Set<number>();
    for (const b of replicas) {
      if (seen.has(b)) {
        return [
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `The manual partition assignment includes the broker ${b} more than once.`,
        ];
      }
      seen.add(b);
      if (b !== node) {
        return [
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `The manual partition assignment includes broker ${b}, but no such broker is registered.`,
        ];
      }
    }
    return [ErrorCode.NONE, null];
  };
  // ACLs: ALTER on the cluster.
  if (!clusterAllowed(ctx, Op.ALTER)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: "Cluster authorization failed.",
      responses: [],
    };
  }
  const responses = req.topics.map((t) => {
    const topic = svc.topics.get(t.name);
    return {
      name: t.name,
      partitions: t.partitions.map((p) => {
        const [errorCode, errorMessage] = topic?.partitions[p.partitionIndex]
          ? check(p.replicas)
          : [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition."];
        return { partitionIndex: p.partitionIndex, errorCode, errorMessage };
      }),
    };
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
});
