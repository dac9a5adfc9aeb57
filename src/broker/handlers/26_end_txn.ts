// EndTxn (key 26), v0-5. Commits or aborts: a marker is appended to every partition of the
// transaction, the last stable offsets move, staged offsets are applied on commit. A retried EndTxn
// with the same outcome succeeds; the opposite outcome gets INVALID_TXN_STATE.
// v5 (transactions v2, KIP-890 part 2): every end bumps the producer epoch (a new producer id once
// the epoch is exhausted); the markers carry the new epoch and the response the id and epoch the
// client uses next. See txn/coordinator.ts for the retry rules.
import { ErrorCode } from "../../protocol/errors.ts";
import { EndTxn } from "../../protocol/messages/26_end_txn.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(EndTxn, [0, 5], async (req, ctx) => {
  // ACLs: WRITE on the transactional id.
  if (!allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      producerId: -1n,
      producerEpoch: -1,
    };
  }
  const r = await ctx.services.txns.endTxn(
    req.transactionalId,
    req.producerId,
    req.producerEpoch,
    req.committed,
    ctx.apiVersion >= 5,
  );
  return { throttleTimeMs: 0, ...r };
});
