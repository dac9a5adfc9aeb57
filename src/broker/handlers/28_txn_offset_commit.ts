// TxnOffsetCommit (key 28), v0-5. Stages offsets in the transaction (after AddOffsetsToTxn for the
// group; from v5, transactions v2, the group is added implicitly); they reach the group's committed
// offsets only when the transaction commits.
// Errors: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS, INVALID_TXN_STATE
// (group not added), UNKNOWN_TOPIC_OR_PARTITION per partition; OFFSET_METADATA_TOO_LARGE per partition
// whose metadata is longer than offset.metadata.max.bytes (UTF-8 bytes, as OffsetCommit): that partition
// is not staged, the others are (Kafka's GroupCoordinator does the same). In a cluster, a broker that
// coordinates the group but not the transaction stages the offsets at its group coordinator
// (NOT_COORDINATOR when it coordinates neither); the transaction's marker for the group's
// __consumer_offsets partition commits or drops them. First it asks the transaction's coordinator
// (AddPartitionsToTxn v5, broker to broker): v5 (transactions v2) adds that partition to the transaction,
// v0-4 only verify (verifyOnly: the producer's epoch, the group added), as Kafka does (KIP-890): a fenced
// producer gets INVALID_PRODUCER_EPOCH (v5: PRODUCER_FENCED), coordinator trouble COORDINATOR_NOT_AVAILABLE.
import { ErrorCode } from "../../protocol/errors.ts";
import { TxnOffsetCommit } from "../../protocol/messages/28_txn_offset_commit.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { keyPartition } from "../cluster.ts";
import { metadataTooLarge, OFFSETS_TOPIC } from "../groups/coordinator.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(TxnOffsetCommit, [0, 5], async (req, ctx) => {
  const svc = ctx.services;
  // ACLs: WRITE on the transactional id, READ on the group, READ on each topic.
  const whole = !allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)
    ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    : !allowed(ctx, Op.READ, Res.GROUP, req.groupId)
    ? ErrorCode.GROUP_AUTHORIZATION_FAILED
    : null;
  const canRead = (name: string) => allowed(ctx, Op.READ, Res.TOPIC, name);
  if (whole !== null || req.topics.some((t) => !canRead(t.name))) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: whole ??
            (canRead(t.name) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.TOPIC_AUTHORIZATION_FAILED),
        })),
      })),
    };
  }
  const maxMetadata = svc.groups.maxOffsetMetadataBytes();
  const tooLarge = (m: string | null) => metadataTooLarge(m, maxMetadata);
  const offsets = req.topics.flatMap((t) =>
    t.partitions
      .filter((p) => svc.topics.get(t.name)?.partitions[p.partitionIndex] && !tooLarge(p.committedMetadata))
      .map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch,
        metadata: p.committedMetadata,
      }))
  );
  // In a cluster the client sends this to the group's coordinator, which may not coordinate the
  // transaction: it then stages the offsets itself until the transaction's marker for the group's
  // __consumer_offsets partition reaches it (as Kafka's group coordinator does).
  const elsewhere = svc.txns.coordinatorError(req.transactionalId) === ErrorCode.NOT_COORDINATOR;
  const tv2 = ctx.apiVersion >= 5 && svc.features.level("transaction.version") >= 2;
  let code: number;
  // The group's __consumer_offsets partition count; none while a DeleteTopics has just taken the topic away.
  const n = svc.topics.get(OFFSETS_TOPIC)?.partitions.length ?? 0;
  if (elsewhere && svc.txnRemoteAdd && svc.groups.coordinatorError(req.groupId) === ErrorCode.NONE) {
    // Transactions v2: the group joins the transaction at its coordinator first, as the group's
    // __consumer_offsets partition (its marker settles the offsets staged here). v0-4: the coordinator
    // verifies the producer (its epoch, the group added by AddOffsetsToTxn: KIP-890 part 1), as Kafka's
    // group coordinator does before it appends, so a fenced producer stages nothing.
    const added = n === 0 ? ErrorCode.COORDINATOR_NOT_AVAILABLE : await svc.txnRemoteAdd(
      req.transactionalId,
      req.producerId,
      req.producerEpoch,
      OFFSETS_TOPIC,
      keyPartition(req.groupId, n),
      !tv2,
    );
    code = added === ErrorCode.NONE
      ? await svc.groups.stageTxnOffsets(req.groupId, req.producerId, req.producerEpoch, offsets)
      : added === ErrorCode.NOT_COORDINATOR || added === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ||
          added === ErrorCode.CONCURRENT_TRANSACTIONS
      ? ErrorCode.COORDINATOR_NOT_AVAILABLE
      // A fenced producer: Kafka's verification answers INVALID_PRODUCER_EPOCH before transactions v2.
      : added === ErrorCode.PRODUCER_FENCED && !tv2
      ? ErrorCode.INVALID_PRODUCER_EPOCH
      : added;
  } else {
    code = elsewhere
      ? await svc.groups.stageTxnOffsets(req.groupId, req.producerId, req.producerEpoch, offsets)
      : await svc.txns.stageOffsets(
        req.transactionalId,
        req.producerId,
        req.producerEpoch,
        req.groupId,
        offsets,
        tv2,
      );
  }
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: !svc.topics.get(t.name)?.partitions[p.partitionIndex]
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : tooLarge(p.committedMetadata)
          ? ErrorCode.OFFSET_METADATA_TOO_LARGE
          : code,
      })),
    })),
  };
});
