// FindCoordinator (key 10), v0-6. This broker coordinates every group and every transactional id:
// the answer is always its own node id and advertised host and port.
// Behaviour: v0 asks for a group; v1-3 carry a key type (0 group, 1 transaction); v4+ batch keys
// (coordinatorKeys), one answer per key. Other key types (2, share groups, v6) get INVALID_REQUEST.
// Not implemented: nothing else; there is no coordinator load phase (state is replayed before the
// broker listens), so COORDINATOR_LOAD_IN_PROGRESS never occurs.
import { ErrorCode } from "../../protocol/errors.ts";
import { FindCoordinator } from "../../protocol/messages/10_find_coordinator.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(FindCoordinator, [0, 6], (req, ctx) => {
  const svc = ctx.services;
  const keyType = ctx.apiVersion >= 1 ? req.keyType : 0;
  const supported = keyType === 0 || keyType === 1;
  const one = (key: string) => ({
    key,
    nodeId: supported ? svc.config.nodeId : -1,
    host: supported ? svc.advertised.host : "",
    port: supported ? svc.advertised.port : -1,
    errorCode: supported ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST,
    errorMessage: supported ? null : `Unsupported key type ${keyType}`,
  });
  if (ctx.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map(one) };
  const c = one(req.key);
  return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
});
