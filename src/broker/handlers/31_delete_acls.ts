// DeleteAcls (key 31), v0-3. Removes the ACL bindings each filter matches and returns them.
// Behaviour: as Kafka: SECURITY_DISABLED without an authorizer; CLUSTER_AUTHORIZATION_FAILED
// without ALTER on the cluster; a filter with UNKNOWN parts is INVALID_REQUEST. MATCH filters
// remove every binding that applies to the named resource (literal, wildcard, prefixes).
import { ErrorCode } from "../../protocol/errors.ts";
import { DeleteAcls } from "../../protocol/messages/31_delete_acls.ts";
import { AclOperation, filterOf } from "../auth/acl.ts";
import { aclApiRefusal } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

export default defineHandler(DeleteAcls, [0, 3], LARGE_RESPONSE, async (req, ctx) => {
  const all = (errorCode: number, errorMessage: string) => ({
    throttleTimeMs: 0,
    filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
  });
  const refused = aclApiRefusal(ctx, AclOperation.ALTER);
  if (refused) return all(refused.errorCode, refused.errorMessage);
  const results = await ctx.services.acls.delete(req.filters.map(filterOf));
  return {
    throttleTimeMs: 0,
    filterResults: results.map((r) =>
      "error" in r ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: r.error, matchingAcls: [] } : {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        matchingAcls: r.removed.map((b) => ({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          resourceType: b.resourceType,
          resourceName: b.resourceName,
          patternType: b.patternType,
          principal: b.principal,
          host: b.host,
          operation: b.operation,
          permissionType: b.permissionType,
        })),
      }
    ),
  };
});
