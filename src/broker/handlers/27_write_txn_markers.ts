// WriteTxnMarkers (key 27), v0-1. Sent by a transaction coordinator to partition leaders; ours is
// in-process, so clients rarely send it, but when one does the markers are written as asked and the
// partitions' producer state, LSO and aborted index follow. In a cluster, a partition this broker does not lead
// (yet) answers NOT_LEADER_OR_FOLLOWER and the coordinator retries; markers are never forwarded. A marker whose
// coordinatorEpoch is lower than that of the last marker written for the producer on the partition comes from a
// replaced coordinator: TRANSACTION_COORDINATOR_FENCED, nothing written (Kafka's ProducerAppendInfo). One that repeats
// the last marker (same producer and coordinator epochs, nothing of the producer written since: a retry whose answer
// was lost) is answered without being written again.
import { ErrorCode } from "../../protocol/errors.ts";
import { WriteTxnMarkers } from "../../protocol/messages/27_write_txn_markers.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { partitionKey } from "../fetch_sessions.ts";

// ACLs: CLUSTER_ACTION on the cluster (an inter-broker API).
export default defineHandler(WriteTxnMarkers, [0, 1], async (req, ctx) => ({
  markers: await Promise.all(req.markers.map(async (m) => {
    const parts = m.topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })));
    const codes = !clusterAllowed(ctx, Op.CLUSTER_ACTION)
      ? new Map(parts.map((p) => [partitionKey(p.topic, p.partition), ErrorCode.CLUSTER_AUTHORIZATION_FAILED]))
      : await ctx.services.txns.writeMarkers(
        m.producerId,
        m.producerEpoch,
        m.transactionResult,
        m.coordinatorEpoch,
        parts,
        false,
        true, // written here or answered NOT_LEADER_OR_FOLLOWER, never forwarded (see writeMarkers)
      );
    return {
      producerId: m.producerId,
      topics: m.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({
          partitionIndex: p,
          errorCode: codes.get(partitionKey(t.name, p)) ?? 0,
        })),
      })),
    };
  })),
}));
