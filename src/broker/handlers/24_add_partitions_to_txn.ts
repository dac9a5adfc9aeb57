// AddPartitionsToTxn (key 24), v0-5. v0-3 (clients): one transaction, partitions join it; an unknown
// partition fails it (UNKNOWN_TOPIC_OR_PARTITION, the others OPERATION_NOT_ATTEMPTED); wrong id
// INVALID_PRODUCER_ID_MAPPING, older epoch PRODUCER_FENCED, a transaction completing
// CONCURRENT_TRANSACTIONS. v4+ (KIP-890, batched): several transactions, and verifyOnly asks whether
// the partitions are already in the transaction (INVALID_TXN_STATE if not).
import { ErrorCode } from "../../protocol/errors.ts";
import { AddPartitionsToTxn } from "../../protocol/messages/24_add_partitions_to_txn.ts";
import { defineHandler } from "../handler.ts";
import type { Services } from "../services.ts";

type Topics = { name: string; partitions: number[] }[];

async function add(svc: Services, id: string, pid: bigint, epoch: number, topics: Topics, verifyOnly: boolean) {
  const parts = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
  const codes = await svc.txns.addPartitions(id, pid, epoch, parts, verifyOnly);
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codes.get(`${t.name}\u0000${p}`) ?? ErrorCode.NONE })),
  }));
}

export default defineHandler(AddPartitionsToTxn, [0, 5], async (req, ctx) => {
  const svc = ctx.services;
  if (ctx.apiVersion <= 3) {
    return {
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: await add(svc, req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics, false),
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    resultsByTransaction: await Promise.all(req.transactions.map(async (t) => ({
      transactionalId: t.transactionalId,
      topicResults: await add(svc, t.transactionalId, t.producerId, t.producerEpoch, t.topics, t.verifyOnly),
    }))),
  };
});
