// The console's client quotas page and its changes, with AlterClientQuotas' checks (ALTER_CONFIGS).
import type { Context } from "hono";
import { AclOperation } from "../../broker/auth/acl.ts";
import type { EntityPart } from "../../broker/config/quotas.ts";
import { errorName } from "../../client/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { html, table } from "./html.ts";
import type { Hono } from "hono";
import type { Services } from "../../broker/services.ts";
import type { HttpEnv } from "../security.ts";
import type { ConsoleKit } from "./kit.ts";

export function quotaRoutes(app: Hono<HttpEnv>, svc: Services, kit: ConsoleKit): void {
  const { user, canCluster, render, denied, fail, deleteButton, options } = kit;
  const QUOTA_KEYS = [
    "producer_byte_rate",
    "consumer_byte_rate",
    "request_percentage",
    "controller_mutation_rate",
    "connection_creation_rate",
  ];
  app.get("/ui/quotas", (c) => {
    if (!canCluster(c, AclOperation.DESCRIBE_CONFIGS)) return denied(c, "/ui/quotas", "describe quotas");
    const rows = svc.quotas.snapshot().flatMap((e) => {
      const entity = e.entity.map((p) => `${p.entityType}=${p.entityName ?? "<default>"}`).join(", ");
      return Object.entries(e.values).map(([k, v]) => [
        entity,
        k,
        v,
        deleteButton("/ui/api/quotas", { entity: JSON.stringify(e.entity), key: k }, `${k} of ${entity}`),
      ]);
    });
    return render(
      c,
      "Client quotas",
      "/ui/quotas",
      html`${table(["Entity", "Quota", "Value", ""], rows)}
        <h2 id="quota-title">Set a quota</h2>
        <form data-api="/ui/api/quotas" data-method="POST" data-then="reload" aria-labelledby="quota-title">
          <label>Entity <select name="entityType">${options(["user", "client-id", "ip"])}</select></label>
          <label>Name (empty: the default) <input name="entityName"></label>
          <label>Quota <select name="key">${options(QUOTA_KEYS)}</select></label>
          <label>Value <input name="value" type="number" min="0" step="any" required></label>
          <button type="submit">Set quota</button></form>`,
    );
  });
  const quotaChange = async (c: Context, remove: boolean) => {
    if (!canCluster(c, AclOperation.ALTER_CONFIGS)) return fail(c, 403, "Cluster authorization failed.");
    const b = await c.req.json().catch(() => null) as Record<string, string> | null;
    if (!b) return fail(c, 400, "The request body is not JSON.");
    let entity: EntityPart[];
    if (remove) {
      try {
        entity = JSON.parse(String(b.entity)) as EntityPart[];
      } catch {
        return fail(c, 400, "Invalid entity.");
      }
    } else entity = [{ entityType: String(b.entityType ?? ""), entityName: b.entityName ? b.entityName : null }];
    const value = remove ? 0 : Number(b.value);
    if (!remove && (b.value === "" || Number.isNaN(value))) return fail(c, 400, "A quota value is required.");
    // The checks and messages of AlterClientQuotas.
    const out = await svc.quotas.alter(entity, [{ key: String(b.key ?? ""), value, remove }], false);
    if (out.errorCode !== ErrorCode.NONE) return fail(c, 400, out.errorMessage ?? errorName(out.errorCode));
    svc.log("info", `${remove ? "removed" : "set"} quota ${b.key} (console, ${user(c)})`);
    return c.json({ message: remove ? `Removed ${b.key}.` : `Set ${b.key} to ${value}.` });
  };
  app.post("/ui/api/quotas", (c) => quotaChange(c, false));
  app.delete("/ui/api/quotas", (c) => quotaChange(c, true));
}
