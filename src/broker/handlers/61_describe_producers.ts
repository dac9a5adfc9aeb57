// DescribeProducers (key 61), v0. The producers with state in each partition: id, epoch, last
// sequence, last timestamp, coordinator epoch and the start offset of an open transaction.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeProducers } from "../../protocol/messages/61_describe_producers.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { producerStateOf } from "../txn/coordinator.ts";

export default defineHandler(DescribeProducers, [0, 0], LARGE_RESPONSE, (req, ctx) => ({
  throttleTimeMs: 0,
  topics: req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((p) => {
      // ACLs: READ on the topic.
      if (!allowed(ctx, Op.READ, Res.TOPIC, t.name)) {
        return {
          partitionIndex: p,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          errorMessage: null,
          activeProducers: [],
        };
      }
      const log = ctx.services.topics.get(t.name)?.partitions[p];
      if (!log) {
        return {
          partitionIndex: p,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: null,
          activeProducers: [],
        };
      }
      return {
        partitionIndex: p,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        activeProducers: producerStateOf(log).describe().map((s) => ({
          ...s,
          lastTimestamp: BigInt(s.lastTimestamp),
          currentTxnStartOffset: BigInt(s.currentTxnStartOffset),
        })),
      };
    }),
  })),
}));
