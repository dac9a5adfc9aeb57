// ListPartitionReassignments (key 46), v0. Reassignments complete at once on one node (see
// AlterPartitionReassignments), so none is ever ongoing: the answer is always an empty list.
// Unknown topics are skipped, as in Kafka.
import { ErrorCode } from "../../protocol/errors.ts";
import { ListPartitionReassignments } from "../../protocol/messages/46_list_partition_reassignments.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(ListPartitionReassignments, [0, 0], () => ({
  throttleTimeMs: 0,
  errorCode: ErrorCode.NONE,
  errorMessage: null,
  topics: [],
}));
