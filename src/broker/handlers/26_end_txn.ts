// EndTxn (key 26), v0-4. Commits or aborts: a marker is appended to every partition of the
// transaction, the last stable offsets move, staged offsets are applied on commit. A retried EndTxn
// with the same outcome succeeds; the opposite outcome gets INVALID_TXN_STATE.
// Versions: v5 (KIP-890 epoch bump on every commit) is marked unstable in the spec and not offered.
import { ErrorCode } from "../../protocol/errors.ts";
import { EndTxn } from "../../protocol/messages/26_end_txn.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

// ACLs: WRITE on the transactional id.
export default defineHandler(EndTxn, [0, 4], async (req, ctx) => ({
  throttleTimeMs: 0,
  errorCode: !allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)
    ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    : await ctx.services.txns.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed),
}));
