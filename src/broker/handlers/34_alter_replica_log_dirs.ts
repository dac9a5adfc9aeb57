// AlterReplicaLogDirs (key 34), v0-2. Moves replicas between log directories. There is one
// directory, so the only legal move is to where a replica already is: NONE, with nothing to do.
// Behaviour (Kafka's ReplicaManager.alterReplicaLogDirs): a path that is not our log directory is
// LOG_DIR_NOT_FOUND; a partition we do not host is REPLICA_NOT_AVAILABLE.
import { ErrorCode } from "../../protocol/errors.ts";
import { AlterReplicaLogDirs } from "../../protocol/messages/34_alter_replica_log_dirs.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import type { Services } from "../services.ts";

/** The broker's one log directory, as DescribeLogDirs names it. */
export function logDirOf(svc: Services): string {
  return svc.config.dataDir ?? "(memory)";
}

const norm = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);

export default defineHandler(AlterReplicaLogDirs, [0, 2], (req, ctx) => {
  const svc = ctx.services;
  const ours = norm(logDirOf(svc));
  // ACLs: ALTER on the cluster.
  const denied = !clusterAllowed(ctx, Op.ALTER);
  const byTopic = new Map<string, { partitionIndex: number; errorCode: number }[]>();
  for (const d of req.dirs) {
    const known = norm(d.path) === ours;
    for (const t of d.topics) {
      const topic = svc.topics.get(t.name);
      const out = byTopic.get(t.name) ?? [];
      byTopic.set(t.name, out);
      for (const p of t.partitions) {
        const errorCode = denied
          ? ErrorCode.CLUSTER_AUTHORIZATION_FAILED
          : !known
          ? ErrorCode.LOG_DIR_NOT_FOUND
          : topic?.partitions[p]
          ? ErrorCode.NONE
          : ErrorCode.REPLICA_NOT_AVAILABLE;
        out.push({ partitionIndex: p, errorCode });
      }
    }
  }
  return { throttleTimeMs: 0, results: [...byTopic].map(([topicName, partitions]) => ({ topicName, partitions })) };
});
