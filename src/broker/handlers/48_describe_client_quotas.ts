// DescribeClientQuotas (key 48), v0-1. Stored quotas (see AlterClientQuotas) matching filter
// components: per entity type (user, client-id, ip) an exact name (0), the default entity (1) or
// any named entity (2); strict leaves out entities with other entity types. Bad filters (a type
// twice, an unknown type, a match string where none belongs, ip combined with user or client-id)
// are INVALID_REQUEST with Kafka's messages and a null entry list.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeClientQuotas } from "../../protocol/messages/48_describe_client_quotas.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

export default defineHandler(DescribeClientQuotas, [0, 1], LARGE_RESPONSE, (req, ctx) => {
  // ACLs: DESCRIBE_CONFIGS on the cluster.
  if (!clusterAllowed(ctx, Op.DESCRIBE_CONFIGS)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: "Cluster authorization failed.",
      entries: null,
    };
  }
  const out = ctx.services.quotas.describe(req.components, req.strict);
  return { throttleTimeMs: 0, errorCode: out.errorCode, errorMessage: out.errorMessage, entries: out.entries };
});
