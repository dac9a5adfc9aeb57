// CreateAcls (key 30), v0-3. Adds ACL bindings (kept in the data dir's admin.json).
// Behaviour: as Kafka: SECURITY_DISABLED without an authorizer; CLUSTER_AUTHORIZATION_FAILED
// without ALTER on the cluster; per creation INVALID_REQUEST for ANY/UNKNOWN/MATCH parts, an
// empty name, a CLUSTER resource not named kafka-cluster, or a principal without "Type:";
// creating an existing binding succeeds and changes nothing. v0 creates LITERAL patterns.
import { ErrorCode } from "../../protocol/errors.ts";
import { CreateAcls } from "../../protocol/messages/30_create_acls.ts";
import { AclOperation } from "../auth/acl.ts";
import { aclApiRefusal } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(CreateAcls, [0, 3], async (req, ctx) => {
  const all = (errorCode: number, errorMessage: string) => ({
    throttleTimeMs: 0,
    results: req.creations.map(() => ({ errorCode, errorMessage })),
  });
  const refused = aclApiRefusal(ctx, AclOperation.ALTER);
  if (refused) return all(refused.errorCode, refused.errorMessage);
  const errors = await ctx.services.acls.create(req.creations.map((c) => ({
    resourceType: c.resourceType,
    resourceName: c.resourceName,
    patternType: c.resourcePatternType,
    principal: c.principal,
    host: c.host,
    operation: c.operation,
    permissionType: c.permissionType,
  })));
  return {
    throttleTimeMs: 0,
    results: errors.map((
      e,
    ) => (e === null
      ? { errorCode: ErrorCode.NONE, errorMessage: null }
      : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: e })
    ),
  };
});
