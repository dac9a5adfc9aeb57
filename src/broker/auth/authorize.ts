// What handlers ask the authorizer: may this connection's principal, from its host, do this?
import type { RequestContext } from "../handler.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "./acl.ts";

export { AclOperation as Op, ResourceType as Res };

/** The client's address without its port (Kafka's ACL host). */
export function hostOf(remote: string): string {
  const i = remote.lastIndexOf(":");
  return (i > 0 ? remote.slice(0, i) : remote).replace(/^\[|\]$/g, "");
}

export function allowed(ctx: RequestContext, operation: number, resourceType: number, name: string): boolean {
  const acls = ctx.services.acls;
  return !acls.enabled ||
    acls.authorize(ctx.session.principal, hostOf(ctx.session.remote), operation, resourceType, name);
}

export function clusterAllowed(ctx: RequestContext, operation: number): boolean {
  return allowed(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME);
}

/** The authorized-operations bit set of a resource for this connection (all of them without an authorizer). */
export function authorizedOperations(ctx: RequestContext, resourceType: number, name: string): number {
  const acls = ctx.services.acls;
  return acls.authorizedOperations(ctx.session.principal, hostOf(ctx.session.remote), resourceType, name);
}

/** Caches a per-name decision for the length of one request. */
export function memo(f: (name: string) => boolean): (name: string) => boolean {
  const seen = new Map<string, boolean>();
  return (name) => {
    let v = seen.get(name);
    if (v === undefined) seen.set(name, v = f(name));
    return v;
  };
}

/** The operation on any resource of the type (Kafka's authorizeByResourceType). */
export function anyAllowed(ctx: RequestContext, operation: number, resourceType: number): boolean {
  const acls = ctx.services.acls;
  return !acls.enabled || acls.authorizeAny(ctx.session.principal, hostOf(ctx.session.remote), operation, resourceType);
}

/** Config resources (type 2 topic, else broker / broker logger on the cluster): an error code when refused. */
export function configDenied(
  ctx: RequestContext,
  operation: number,
  configResourceType: number,
  name: string,
): number | null {
  if (configResourceType === 2) return allowed(ctx, operation, ResourceType.TOPIC, name) ? null : 29; // TOPIC_AUTHORIZATION_FAILED
  if (configResourceType === 32) return allowed(ctx, operation, ResourceType.GROUP, name) ? null : 30; // GROUP_AUTHORIZATION_FAILED
  return clusterAllowed(ctx, operation) ? null : 31; // CLUSTER_AUTHORIZATION_FAILED
}

/**
 * The ACL APIs' own gate: SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED
 * without `operation` on the cluster (DESCRIBE for DescribeAcls, ALTER to create or delete).
 */
export function aclApiRefusal(
  ctx: RequestContext,
  operation: number,
): { errorCode: number; errorMessage: string } | null {
  if (!ctx.services.acls.enabled) return { errorCode: 54, errorMessage: "No Authorizer is configured." }; // SECURITY_DISABLED
  if (!clusterAllowed(ctx, operation)) return { errorCode: 31, errorMessage: "Cluster authorization failed." }; // CLUSTER_AUTHORIZATION_FAILED
  return null;
}
