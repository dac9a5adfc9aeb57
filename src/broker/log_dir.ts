// The log dir's state in the answers that name replicas. When the file engine's log dir went offline (a failed
// fsync or an I/O error; docs/storage.md, "Failures") this broker's replicas are offline: a partition whose
// leader it was has no leader (LEADER_NOT_AVAILABLE, leader -1) and lists the broker in offline_replicas, as
// Kafka's controller answers for a partition whose only replica sits on a failed log dir. Clients then wait
// for a leader instead of sending to this broker what it would refuse with KAFKA_STORAGE_ERROR.
import { ErrorCode } from "../protocol/errors.ts";
import { partitionLeadership } from "./cluster.ts";
import type { Services } from "./services.ts";

/** Why the log dir went offline, or null while it is online (engines without one are always online). */
export function logDirOffline(svc: Services): Error | null {
  return (svc.store as { offline?: Error | null }).offline ?? null;
}

/** A partition as Metadata and DescribeTopicPartitions list it: leadership, with this broker's log dir state. */
export function partitionState(svc: Services, topic: string, partition: number) {
  const p = partitionLeadership(svc.cluster, topic, partition);
  const me = svc.cluster.nodeId;
  if (p.leaderId !== me || logDirOffline(svc) === null) return p;
  return { ...p, errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1, offlineReplicas: [me] };
}
