// The console's ACL page and its changes, authorized as CreateAcls / DeleteAcls (ALTER on the cluster).
import type { Context } from "hono";
import { AclOperation, AclPermission, PatternType, ResourceType } from "../../broker/auth/acl.ts";
import { html, table } from "./html.ts";
import type { Hono } from "hono";
import type { Services } from "../../broker/services.ts";
import type { HttpEnv } from "../security.ts";
import type { ConsoleKit } from "./kit.ts";

export function aclRoutes(app: Hono<HttpEnv>, svc: Services, kit: ConsoleKit): void {
  const { user, canCluster, render, denied, fail, enumName, deleteButton, options } = kit;
  const ACL_RESOURCES = ["TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"];
  const ACL_OPERATIONS = Object.keys(AclOperation).filter((k) => !["UNKNOWN", "ANY"].includes(k));

  app.get("/ui/acls", (c) => {
    if (!canCluster(c, AclOperation.DESCRIBE)) return denied(c, "/ui/acls", "describe ACLs");
    const rows = svc.acls.list().map((b) => {
      const view = {
        resource_type: enumName(ResourceType as unknown as Record<string, number>, b.resourceType),
        resource_name: b.resourceName,
        pattern_type: enumName(PatternType as unknown as Record<string, number>, b.patternType),
        principal: b.principal,
        host: b.host,
        operation: enumName(AclOperation as unknown as Record<string, number>, b.operation),
        permission: enumName(AclPermission as unknown as Record<string, number>, b.permissionType),
      };
      return [
        ...Object.values(view),
        deleteButton(
          "/ui/api/acls",
          view,
          `the ACL ${view.permission} ${view.principal} ${view.operation} on ${view.resource_name}`,
        ),
      ];
    });
    const note = svc.acls.enabled
      ? html``
      : html`<p class="muted">No authorizer is configured: everything is allowed, and ACLs cannot be added.</p>`;
    return render(
      c,
      "ACLs",
      "/ui/acls",
      html`${note}${table(["Resource", "Name", "Pattern", "Principal", "Host", "Operation", "Permission", ""], rows)}
        <h2 id="acl-title">Add an ACL</h2>
        <form data-api="/ui/api/acls" data-method="POST" data-then="reload" aria-labelledby="acl-title">
          <label>Resource <select name="resource_type">${options(ACL_RESOURCES)}</select></label>
          <label>Name <input name="resource_name" required></label>
          <label>Pattern <select name="pattern_type">${options(["LITERAL", "PREFIXED"])}</select></label>
          <label>Principal <input name="principal" required placeholder="User:alice"></label>
          <label>Host <input name="host" value="*" required></label>
          <label>Operation <select name="operation">${options(ACL_OPERATIONS, "READ")}</select></label>
          <label>Permission <select name="permission">${options(["ALLOW", "DENY"])}</select></label>
          <button type="submit">Add ACL</button></form>`,
    );
  });

  /** An ACL binding from the console's form fields (Kafka's enum names); null names an unknown value. */
  const aclFromForm = (b: Record<string, unknown>) => {
    const pick = <T extends Record<string, number>>(o: T, v: unknown) =>
      typeof v === "string" && v in o ? o[v as keyof T] as number : -1;
    return {
      resourceType: pick(ResourceType, b.resource_type),
      resourceName: String(b.resource_name ?? ""),
      patternType: pick(PatternType, b.pattern_type),
      principal: String(b.principal ?? ""),
      host: String(b.host ?? "*"),
      operation: pick(AclOperation, b.operation),
      permissionType: pick(AclPermission, b.permission),
    };
  };
  const aclChange = async (c: Context, remove: boolean) => {
    if (!canCluster(c, AclOperation.ALTER)) return fail(c, 403, "Cluster authorization failed.");
    if (!svc.acls.enabled) return fail(c, 400, "No authorizer is configured.");
    const b = await c.req.json().catch(() => null) as Record<string, unknown> | null;
    if (!b) return fail(c, 400, "The request body is not JSON.");
    const acl = aclFromForm(b);
    if (Object.values(acl).includes(-1)) {
      return fail(c, 400, "Unknown resource type, pattern, operation or permission.");
    }
    if (remove) {
      const [out] = await svc.acls.delete([acl]);
      if ("error" in out) return fail(c, 400, out.error);
      svc.log("info", `deleted ${out.removed.length} ACL(s) (console, ${user(c)})`);
      return c.json({ message: `Deleted ${out.removed.length} ACL(s).` });
    }
    const [error] = await svc.acls.create([acl]);
    if (error) return fail(c, 400, error);
    svc.log("info", `added an ACL for ${acl.principal} (console, ${user(c)})`);
    return c.json({ message: `Added the ACL for ${acl.principal}.` });
  };
  app.post("/ui/api/acls", (c) => aclChange(c, false));
  app.delete("/ui/api/acls", (c) => aclChange(c, true));
}
