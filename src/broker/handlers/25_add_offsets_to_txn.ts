// AddOffsetsToTxn (key 25), v0-4. The group's offsets, committed with TxnOffsetCommit, become part
// of the transaction: visible when it commits, dropped when it aborts. Errors as AddPartitionsToTxn.
import { AddOffsetsToTxn } from "../../protocol/messages/25_add_offsets_to_txn.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(AddOffsetsToTxn, [0, 4], async (req, ctx) => ({
  throttleTimeMs: 0,
  errorCode: await ctx.services.txns.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId),
}));
