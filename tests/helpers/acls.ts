// ACL bindings for tests that set them up through the broker's services, or with kafkajs' admin client.
import { AclPermissionTypes, ResourcePatternTypes } from "kafkajs";
import { type AclBinding, AclPermission, PatternType } from "../../src/broker/auth/acl.ts";

/** ALLOW `operation` on the literal resource `resourceName` of `resourceType` to `principal`, from any host. */
export function allowAcl(principal: string, operation: number, resourceType: number, resourceName: string): AclBinding {
  return {
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    principal,
    host: "*",
    operation,
    permissionType: AclPermission.ALLOW,
  };
}

/** The same ALLOW as kafkajs' admin.createAcls takes it. */
export function kafkajsAllowAcl(principal: string, operation: number, resourceType: number, resourceName: string) {
  return {
    resourceType,
    resourceName,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal,
    host: "*",
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  };
}
