// The console's SCRAM users page and its changes, with AlterUserScramCredentials' checks (ALTER on the cluster).
import { AclOperation } from "../../broker/auth/acl.ts";
import {
  credentialFromPassword,
  isScram,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  SCRAM_MECHANISMS,
} from "../../broker/auth/sasl.ts";
import { scramUpsertProblem, scramUserProblem, UNKNOWN_SCRAM_MECHANISM } from "../../broker/auth/scram_checks.ts";
import { html, table } from "./html.ts";
import type { Hono } from "hono";
import type { Services } from "../../broker/services.ts";
import type { HttpEnv } from "../security.ts";
import type { ConsoleKit } from "./kit.ts";

export function userRoutes(app: Hono<HttpEnv>, svc: Services, kit: ConsoleKit): void {
  const { user, canCluster, render, denied, fail, deleteButton, options } = kit;
  app.get("/ui/users", (c) => {
    if (!canCluster(c, AclOperation.DESCRIBE)) return denied(c, "/ui/users", "describe users");
    const rows = svc.auth.scram.userNames().sort().flatMap((u) =>
      (svc.auth.scram.describe(u) ?? []).map((d) => [
        u,
        d.mechanism,
        d.iterations,
        deleteButton("/ui/api/users", { name: u, mechanism: d.mechanism }, `the ${d.mechanism} credential of ${u}`),
      ])
    );
    return render(
      c,
      "SCRAM users",
      "/ui/users",
      html`${table(["User", "Mechanism", "Iterations", ""], rows)}
        <h2 id="user-title">Add a user or change a password</h2>
        <form data-api="/ui/api/users" data-method="POST" data-then="reload" aria-labelledby="user-title">
          <label>User <input name="name" required autocomplete="off"></label>
          <label>Password <input name="password" type="password" required autocomplete="new-password"></label>
          <label>Mechanism <select name="mechanism">${options([...SCRAM_MECHANISMS])}</select></label>
          <label>Iterations <input name="iterations" type="number" min="${MIN_ITERATIONS}" max="${MAX_ITERATIONS}"
            value="${MIN_ITERATIONS}"></label>
          <button type="submit">Save user</button></form>`,
    );
  });
  app.post("/ui/api/users", async (c) => {
    if (!canCluster(c, AclOperation.ALTER)) return fail(c, 403, "Cluster authorization failed.");
    const b = await c.req.json().catch(() => null) as Record<string, string> | null;
    const mechanism = String(b?.mechanism ?? "");
    const iterations = Number(b?.iterations || MIN_ITERATIONS);
    // The checks and messages of AlterUserScramCredentials.
    const name = String(b?.name ?? "");
    const password = String(b?.password ?? "");
    const problem = scramUserProblem(name) ??
      (isScram(mechanism) ? scramUpsertProblem(iterations, password === "") : UNKNOWN_SCRAM_MECHANISM);
    if (problem !== null || !isScram(mechanism)) return fail(c, 400, (problem ?? UNKNOWN_SCRAM_MECHANISM).message);
    svc.auth.scram.set(name, mechanism, await credentialFromPassword(mechanism, password, iterations));
    await svc.auth.scram.changed();
    svc.log("info", `set the ${mechanism} credential of ${name} (console, ${user(c)})`);
    return c.json({ message: `Saved the ${mechanism} credential of ${name}.` });
  });
  app.delete("/ui/api/users", async (c) => {
    if (!canCluster(c, AclOperation.ALTER)) return fail(c, 403, "Cluster authorization failed.");
    const b = await c.req.json().catch(() => null) as Record<string, string> | null;
    const mechanism = String(b?.mechanism ?? "");
    if (!b?.name || !isScram(mechanism) || !svc.auth.scram.has(b.name, mechanism)) {
      return fail(c, 404, "Attempt to delete a user credential that does not exist");
    }
    svc.auth.scram.delete(b.name, mechanism);
    await svc.auth.scram.changed();
    svc.log("info", `deleted the ${mechanism} credential of ${b.name} (console, ${user(c)})`);
    return c.json({ message: `Deleted the ${mechanism} credential of ${b.name}.` });
  });
}
