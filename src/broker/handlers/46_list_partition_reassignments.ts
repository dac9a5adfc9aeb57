// ListPartitionReassignments (key 46), v0. Reassignments complete at once on one node (see
// AlterPartitionReassignments), so none is ever ongoing: the answer is always an empty list.
// Unknown topics are skipped, as in Kafka.
import { ErrorCode } from "../../protocol/errors.ts";
import { ListPartitionReassignments } from "../../protocol/messages/46_list_partition_reassignments.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

// ACLs: DESCRIBE on the cluster.
export default defineHandler(ListPartitionReassignments, [0, 0], LARGE_RESPONSE, (_req, ctx) => ({
  throttleTimeMs: 0,
  errorCode: clusterAllowed(ctx, Op.DESCRIBE) ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  errorMessage: null,
  topics: [],
}));
