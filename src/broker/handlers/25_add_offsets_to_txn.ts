// AddOffsetsToTxn (key 25), v0-4. The group's offsets, committed with TxnOffsetCommit, become part
// of the transaction: visible when it commits, dropped when it aborts. Errors as AddPartitionsToTxn.
import { ErrorCode } from "../../protocol/errors.ts";
import { AddOffsetsToTxn } from "../../protocol/messages/25_add_offsets_to_txn.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

// ACLs: WRITE on the transactional id, READ on the group.
export default defineHandler(AddOffsetsToTxn, [0, 4], async (req, ctx) => ({
  throttleTimeMs: 0,
  errorCode: !allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)
    ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    : !allowed(ctx, Op.READ, Res.GROUP, req.groupId)
    ? ErrorCode.GROUP_AUTHORIZATION_FAILED
    : await ctx.services.txns.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId),
}));
