// AddPartitionsToTxn (key 24), v0-5. v0-3 (clients): one transaction, partitions join it; an unknown
// partition fails it (UNKNOWN_TOPIC_OR_PARTITION, the others OPERATION_NOT_ATTEMPTED); wrong id
// INVALID_PRODUCER_ID_MAPPING, older epoch PRODUCER_FENCED, a transaction completing
// CONCURRENT_TRANSACTIONS. v4+ (KIP-890, batched): several transactions, and verifyOnly asks whether
// the partitions are already in the transaction (INVALID_TXN_STATE if not); v5 with verifyOnly false adds
// them as transactions v2 does (a partition leader or group coordinator of a cluster, for a v2 client).
import { ErrorCode } from "../../protocol/errors.ts";
import { AddPartitionsToTxn } from "../../protocol/messages/24_add_partitions_to_txn.ts";
import { allowed, clusterAllowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";
import { partitionKey } from "../fetch_sessions.ts";
import type { RequestContext } from "../handler.ts";

type Topics = { name: string; partitions: number[] }[];

async function add(
  ctx: RequestContext,
  id: string,
  pid: bigint,
  epoch: number,
  topics: Topics,
  verifyOnly: boolean,
  tv2 = false,
) {
  const svc = ctx.services;
  // ACLs, as Kafka: WRITE on the transactional id, then WRITE on each topic; when one topic is
  // refused, it gets TOPIC_AUTHORIZATION_FAILED and the others OPERATION_NOT_ATTEMPTED.
  const codeAll = (code: (name: string) => number) =>
    topics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name) })),
    }));
  if (!allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, id)) {
    return codeAll(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  }
  const refused = new Set(topics.filter((t) => !allowed(ctx, Op.WRITE, Res.TOPIC, t.name)).map((t) => t.name));
  if (refused.size > 0) {
    return codeAll((n) => (refused.has(n) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED));
  }
  const parts = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
  const codes = await svc.txns.addPartitions(id, pid, epoch, parts, verifyOnly, tv2);
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({
      partitionIndex: p,
      partitionErrorCode: codes.get(partitionKey(t.name, p)) ?? ErrorCode.NONE,
    })),
  }));
}

export default defineHandler(AddPartitionsToTxn, [0, 5], async (req, ctx) => {
  if (ctx.apiVersion <= 3) {
    return {
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: await add(
        ctx,
        req.v3AndBelowTransactionalId,
        req.v3AndBelowProducerId,
        req.v3AndBelowProducerEpoch,
        req.v3AndBelowTopics,
        false,
      ),
    };
  }
  // The batched form (v4+, from brokers) needs CLUSTER_ACTION on the cluster.
  if (!clusterAllowed(ctx, Op.CLUSTER_ACTION)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    resultsByTransaction: await Promise.all(req.transactions.map(async (t) => ({
      transactionalId: t.transactionalId,
      // v5 without verifyOnly: a partition leader (or group coordinator) adding for a transactions v2 client.
      topicResults: await add(
        ctx,
        t.transactionalId,
        t.producerId,
        t.producerEpoch,
        t.topics,
        t.verifyOnly,
        ctx.apiVersion >= 5 && !t.verifyOnly,
      ),
    }))),
  };
});
