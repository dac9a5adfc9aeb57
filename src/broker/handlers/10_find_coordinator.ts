// FindCoordinator (key 10), v0-6. One broker coordinates every group and every transactional id:
// alone, this one; in a cluster on PostgreSQL, the broker leading the internal topics (cluster.ts),
// at its address for the listener asked on (COORDINATOR_NOT_AVAILABLE while none is live).
// Behaviour: v0 asks for a group; v1-3 carry a key type (0 group, 1 transaction); v4+ batch keys
// (coordinatorKeys), one answer per key. Other key types (2, share groups, v6) get INVALID_REQUEST.
// Not implemented: nothing else; there is no coordinator load phase (state is replayed before the
// broker listens), so COORDINATOR_LOAD_IN_PROGRESS never occurs.
import { ErrorCode } from "../../protocol/errors.ts";
import { FindCoordinator } from "../../protocol/messages/10_find_coordinator.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(FindCoordinator, [0, 6], (req, ctx) => {
  const svc = ctx.services;
  const keyType = ctx.apiVersion >= 1 ? req.keyType : 0;
  const supported = keyType === 0 || keyType === 1;
  const id = svc.cluster.coordinator();
  const coordinator = svc.cluster.brokers(ctx.session.listener).find((b) => b.nodeId === id);
  // ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
  const one = (key: string) => {
    const denied = supported && !allowed(ctx, Op.DESCRIBE, keyType === 0 ? Res.GROUP : Res.TRANSACTIONAL_ID, key);
    const errorCode = !supported
      ? ErrorCode.INVALID_REQUEST
      : denied
      ? (keyType === 0 ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
      : ErrorCode.NONE;
    const node = errorCode === ErrorCode.NONE ? coordinator : undefined;
    const code = errorCode === ErrorCode.NONE && !node ? ErrorCode.COORDINATOR_NOT_AVAILABLE : errorCode;
    return {
      key,
      nodeId: node ? node.nodeId : -1,
      host: node ? node.host : "",
      port: node ? node.port : -1,
      errorCode: code,
      errorMessage: !supported ? `Unsupported key type ${keyType}` : denied ? "Authorization failed." : null,
    };
  };
  if (ctx.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map(one) };
  const c = one(req.key);
  return {
    throttleTimeMs: 0,
    errorCode: c.errorCode,
    errorMessage: c.errorMessage,
    nodeId: c.nodeId,
    host: c.host,
    port: c.port,
  };
});
