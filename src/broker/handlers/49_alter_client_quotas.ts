// AlterClientQuotas (key 49), v0-1. Sets or removes quota values per entity (user, client-id,
// user+client-id, or ip; a null name is the default entity). Keys and types as in Kafka:
// producer_byte_rate and consumer_byte_rate (whole numbers), request_percentage and
// controller_mutation_rate for users and clients, connection_creation_rate for ips. Errors per
// entry: INVALID_REQUEST with Kafka's messages (empty entity, ip combined with others, invalid ip,
// unknown key, fractional or too large value), UNSUPPORTED_VERSION for an unknown entity type.
// validateOnly checks without storing. Values persist. Not implemented: enforcement (throttling)
// comes with the security work.
import { ErrorCode } from "../../protocol/errors.ts";
import { AlterClientQuotas } from "../../protocol/messages/49_alter_client_quotas.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(AlterClientQuotas, [0, 1], async (req, ctx) => {
  const entries = [];
  // ACLs: ALTER_CONFIGS on the cluster.
  if (!clusterAllowed(ctx, Op.ALTER_CONFIGS)) {
    return {
      throttleTimeMs: 0,
      entries: req.entries.map((e) => ({
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: "Cluster authorization failed.",
        entity: e.entity,
      })),
    };
  }
  for (const e of req.entries) {
    const out = await ctx.services.quotas.alter(e.entity, e.ops, req.validateOnly);
    entries.push({ errorCode: out.errorCode, errorMessage: out.errorMessage, entity: e.entity });
  }
  return { throttleTimeMs: 0, entries };
});
