// DescribeTransactions (key 65), v0. State, timeout, start time, producer id/epoch and partitions of
// each transactional id; unknown ids get TRANSACTIONAL_ID_NOT_FOUND. In a cluster, an id this broker does not
// coordinate gets NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS while its partition loads here), as Kafka.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeTransactions } from "../../protocol/messages/65_describe_transactions.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

export default defineHandler(DescribeTransactions, [0, 0], LARGE_RESPONSE, (req, ctx) => ({
  throttleTimeMs: 0,
  transactionStates: req.transactionalIds.map((id) => {
    // ACLs: DESCRIBE on the transactional id.
    if (!allowed(ctx, Op.DESCRIBE, Res.TRANSACTIONAL_ID, id)) {
      return {
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        transactionalId: id,
        transactionState: "",
        transactionTimeoutMs: 0,
        transactionStartTimeMs: -1n,
        producerId: -1n,
        producerEpoch: -1,
        topics: [],
      };
    }
    const t = ctx.services.txns.describe(id);
    if (!t) {
      const refused = ctx.services.txns.coordinatorError(id);
      return {
        errorCode: refused !== ErrorCode.NONE ? refused : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
        transactionalId: id,
        transactionState: "",
        transactionTimeoutMs: 0,
        transactionStartTimeMs: -1n,
        producerId: -1n,
        producerEpoch: -1,
        topics: [],
      };
    }
    const byTopic = new Map<string, number[]>();
    for (const p of t.partitions.values()) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    return {
      errorCode: ErrorCode.NONE,
      transactionalId: id,
      transactionState: t.state,
      transactionTimeoutMs: t.timeoutMs,
      transactionStartTimeMs: BigInt(t.state === "Ongoing" ? t.startTimestamp : -1),
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    };
  }),
}));
