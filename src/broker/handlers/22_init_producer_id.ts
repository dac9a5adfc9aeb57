// InitProducerId (key 22), v0-5. Idempotent producers get a fresh id (epoch 0); with v3+ a producer
// that names its current id and epoch gets the epoch bumped (KIP-360). Transactional ids keep their
// producer id across incarnations and get the epoch bumped, fencing older producers; a transaction
// the old incarnation left open is aborted first. transaction.timeout.ms above
// transaction.max.timeout.ms gets INVALID_TRANSACTION_TIMEOUT.
import { ErrorCode } from "../../protocol/errors.ts";
import { InitProducerId } from "../../protocol/messages/22_init_producer_id.ts";
import { allowed, anyAllowed, clusterAllowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(InitProducerId, [0, 5], async (req, ctx) => {
  // ACLs: WRITE on the transactional id; an idempotent producer needs IDEMPOTENT_WRITE on the
  // cluster or WRITE on some topic (KIP-679).
  const denied = req.transactionalId !== null
    ? (!allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)
      ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : null)
    : (!clusterAllowed(ctx, Op.IDEMPOTENT_WRITE) && !anyAllowed(ctx, Op.WRITE, Res.TOPIC)
      ? ErrorCode.CLUSTER_AUTHORIZATION_FAILED
      : null);
  if (denied !== null) return { throttleTimeMs: 0, errorCode: denied, producerId: -1n, producerEpoch: -1 };
  const r = await ctx.services.txns.initProducerId(
    req.transactionalId,
    req.transactionTimeoutMs,
    req.producerId,
    req.producerEpoch,
  );
  return { throttleTimeMs: 0, ...r };
});
