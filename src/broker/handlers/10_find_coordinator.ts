// FindCoordinator (key 10), v0-6. The coordinator of a group is the leader of its __consumer_offsets
// partition, that of a transactional id the leader of its __transaction_state partition (the id's
// hash modulo the partition count, cluster.ts keyPartition), as Kafka: alone, this broker; in a
// cluster on PostgreSQL, whichever live broker leads that partition, at its address for the
// listener asked on. COORDINATOR_NOT_AVAILABLE while the partition has no live leader. In a cluster the
// internal topic is created (and placed over the live brokers) by the first FindCoordinator that needs it,
// before the answer (Kafka creates it then too, answering COORDINATOR_NOT_AVAILABLE meanwhile).
// Behaviour: v0 asks for a group; v1-3 carry a key type (0 group, 1 transaction); v4+ batch keys
// (coordinatorKeys), one answer per key, each to its own coordinator. Other key types (2, share
// groups, v6) get INVALID_REQUEST. The broker named may still be loading the partition: it answers
// the group or transaction requests themselves with COORDINATOR_LOAD_IN_PROGRESS meanwhile.
import { ErrorCode } from "../../protocol/errors.ts";
import { FindCoordinator } from "../../protocol/messages/10_find_coordinator.ts";
import { allowed, Op, Res } from "../auth/authorize.ts";
import { keyPartition } from "../cluster.ts";
import { OFFSETS_TOPIC } from "../groups/coordinator.ts";
import { defineHandler } from "../handler.ts";
import { TXN_TOPIC } from "../txn/coordinator.ts";

export default defineHandler(FindCoordinator, [0, 6], async (req, ctx) => {
  const svc = ctx.services;
  const keyType = ctx.apiVersion >= 1 ? req.keyType : 0;
  const supported = keyType === 0 || keyType === 1;
  const internal = keyType === 0 ? OFFSETS_TOPIC : TXN_TOPIC;
  const keys = ctx.apiVersion >= 4 ? req.coordinatorKeys : [req.key];
  const res = keyType === 0 ? Res.GROUP : Res.TRANSACTIONAL_ID;
  // Created only for a key the client may describe (as Kafka, which checks before it creates).
  if (
    supported && !svc.topics.get(internal) && svc.cluster.ensureCoordinatorTopic &&
    keys.some((k) => allowed(ctx, Op.DESCRIBE, res, k))
  ) {
    await svc.cluster.ensureCoordinatorTopic(internal).catch((e) =>
      svc.log("warn", `creating ${internal} failed: ${e instanceof Error ? e.message : String(e)}`)
    );
  }
  const brokers = svc.cluster.brokers(ctx.session.listener);
  const coordinatorOf = (key: string): number => {
    const n = svc.topics.get(internal)?.partitions.length;
    // Alone, this broker coordinates everything (the internal topics are created when first needed).
    if (!n) return svc.cluster.leads(internal, 0) ? svc.cluster.nodeId : -1;
    return svc.cluster.leader(internal, keyPartition(key, n)).leader;
  };
  // ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
  const one = (key: string) => {
    const denied = supported && !allowed(ctx, Op.DESCRIBE, keyType === 0 ? Res.GROUP : Res.TRANSACTIONAL_ID, key);
    const errorCode = !supported
      ? ErrorCode.INVALID_REQUEST
      : denied
      ? (keyType === 0 ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
      : ErrorCode.NONE;
    let node: (typeof brokers)[number] | undefined;
    if (errorCode === ErrorCode.NONE) {
      const id = coordinatorOf(key);
      node = brokers.find((b) => b.nodeId === id);
    }
    const code = errorCode === ErrorCode.NONE && !node ? ErrorCode.COORDINATOR_NOT_AVAILABLE : errorCode;
    return {
      key,
      nodeId: node ? node.nodeId : -1,
      host: node ? node.host : "",
      port: node ? node.port : -1,
      errorCode: code,
      errorMessage: !supported
        ? `Unsupported key type ${keyType}`
        : denied
        ? "Authorization failed."
        : code !== ErrorCode.NONE
        ? "The coordinator is not available."
        : null,
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
