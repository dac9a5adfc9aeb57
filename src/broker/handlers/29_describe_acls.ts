// DescribeAcls (key 29), v0-3. The ACL bindings a filter matches, grouped by resource pattern.
// Behaviour: as Kafka: SECURITY_DISABLED without an authorizer (authorizer.class.name);
// CLUSTER_AUTHORIZATION_FAILED without DESCRIBE on the cluster; a filter with UNKNOWN parts is
// INVALID_REQUEST. v0 filters match LITERAL patterns only (the field's default).
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeAcls } from "../../protocol/messages/29_describe_acls.ts";
import { AclOperation, filterOf, invalidFilter } from "../auth/acl.ts";
import type { AclBinding } from "../auth/acl.ts";
import { aclApiRefusal } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

export default defineHandler(DescribeAcls, [0, 3], LARGE_RESPONSE, (req, ctx) => {
  const fail = (errorCode: number, errorMessage: string) => ({
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    resources: [],
  });
  const refused = aclApiRefusal(ctx, AclOperation.DESCRIBE);
  if (refused) return fail(refused.errorCode, refused.errorMessage);
  const filter = filterOf(req);
  const invalid = invalidFilter(filter);
  if (invalid !== null) return fail(ErrorCode.INVALID_REQUEST, invalid);
  const byResource = new Map<
    string,
    { resourceType: number; resourceName: string; patternType: number; acls: AclBinding[] }
  >();
  for (const b of ctx.services.acls.describe(filter)) {
    const k = `${b.resourceType}\u0000${b.patternType}\u0000${b.resourceName}`;
    let r = byResource.get(k);
    if (!r) {
      byResource.set(
        k,
        r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] },
      );
    }
    r.acls.push(b);
  }
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resources: [...byResource.values()].map((r) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      patternType: r.patternType,
      acls: r.acls.map((b) => ({
        principal: b.principal,
        host: b.host,
        operation: b.operation,
        permissionType: b.permissionType,
      })),
    })),
  };
});
