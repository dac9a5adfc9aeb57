// DescribeTopicPartitions (key 75), v0. Topics and their partitions in name order, paged.
// Behaviour (Kafka's DescribeTopicPartitionsRequestHandler): an empty topic list means all topics;
// at most min(responsePartitionLimit, 2000) partitions are returned; when more remain, nextCursor
// names the topic and partition to continue from (a cursor at partition 0 of the next topic when a
// page ends exactly at a topic's end). A cursor's topic must be in a non-empty topic list and its
// partition index must not be negative, else every topic gets INVALID_REQUEST. Unknown topics get
// UNKNOWN_TOPIC_OR_PARTITION (illegal names INVALID_TOPIC_EXCEPTION) when named, and are skipped
// when listing all. Leaders and epochs from the cluster (cluster.ts; one node alone: itself, epoch 0),
// the leader the sole replica, no eligible leader replicas (ELR).
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeTopicPartitions } from "../../protocol/messages/75_describe_topic_partitions.ts";
import { allowed, authorizedOperations, Op, Res } from "../auth/authorize.ts";
import { partitionState } from "../log_dir.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { OPERATIONS_OMITTED, TOPIC_OPERATIONS } from "../topic_admin.ts";
import { topicNameError, ZERO_UUID } from "../topics.ts";

/** Kafka's max.request.partition.size.limit default. */
const MAX_PARTITIONS_PER_RESPONSE = 2000;

type TopicOut = {
  errorCode: number;
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: object[];
  topicAuthorizedOperations: number;
};

export default defineHandler(DescribeTopicPartitions, [0, 0], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  const all = req.topics.length === 0;
  const cursor = req.cursor;
  const wanted = all ? [...svc.topics.list()].map((t) => t.name) : [...new Set(req.topics.map((t) => t.name))];
  wanted.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // The response has no error message field; the reason goes to the debug log.
  const invalid = (message: string) => {
    svc.log("debug", `DescribeTopicPartitions: ${message}`);
    return {
      throttleTimeMs: 0,
      topics: wanted.map((name) => ({
        errorCode: ErrorCode.INVALID_REQUEST,
        name,
        topicId: ZERO_UUID,
        isInternal: false,
        partitions: [],
        topicAuthorizedOperations: TOPIC_OPERATIONS,
      })),
      nextCursor: null,
    };
  };
  if (cursor !== null && !all && !wanted.includes(cursor.topicName)) {
    return invalid(`the topic list should contain the cursor topic: ${cursor.topicName}`);
  }
  if (cursor !== null && cursor.partitionIndex < 0) return invalid("the cursor's partition index must not be negative");
  const names = cursor === null ? wanted : wanted.filter((n) => n >= cursor.topicName);
  let remaining = Math.min(req.responsePartitionLimit, MAX_PARTITIONS_PER_RESPONSE);
  const topics: TopicOut[] = [];
  let nextCursor: { topicName: string; partitionIndex: number } | null = null;
  for (const name of names) {
    // ACLs: DESCRIBE on the topic; left out of "all topics", TOPIC_AUTHORIZATION_FAILED when named.
    if (!allowed(ctx, Op.DESCRIBE, Res.TOPIC, name)) {
      if (!all) {
        topics.push({
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: OPERATIONS_OMITTED,
        });
      }
      continue;
    }
    if (remaining <= 0) {
      nextCursor = { topicName: name, partitionIndex: 0 };
      break;
    }
    const t = svc.topics.get(name);
    if (!t) {
      if (!all) {
        const err = topicNameError(name) ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        topics.push({
          errorCode: err,
          name,
          topicId: ZERO_UUID,
          isInternal: name.startsWith("__"),
          partitions: [],
          topicAuthorizedOperations: TOPIC_OPERATIONS,
        });
      }
      continue;
    }
    const start = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
    const end = Math.min(t.partitions.length, start + remaining);
    const partitions = [];
    for (let i = start; i < end; i++) {
      partitions.push({ ...partitionState(svc, name, i), eligibleLeaderReplicas: [], lastKnownElr: [] });
    }
    topics.push({
      errorCode: ErrorCode.NONE,
      name,
      topicId: t.id,
      isInternal: t.internal,
      partitions,
      topicAuthorizedOperations: authorizedOperations(ctx, Res.TOPIC, name),
    });
    if (end < t.partitions.length) {
      nextCursor = { topicName: name, partitionIndex: end };
      break;
    }
    remaining -= Math.max(0, end - start);
  }
  return { throttleTimeMs: 0, topics, nextCursor };
});
