// What every console module shares: the signed-in principal, authorization checks, page rendering
// and JSON failures, and the small form pieces (hidden fields, a delete button, select options).
import type { Context } from "hono";
import type { Services } from "../../broker/services.ts";
import { httpAllowed, httpClusterAllowed } from "../security.ts";
import { Html, html, page } from "./html.ts";

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export type ConsoleKit = ReturnType<typeof consoleKit>;

/** The helpers the console's routes share, bound to the broker's services. */
export function consoleKit(svc: Services) {
  const user = (c: Context) => (c.get("principal") as string | undefined) ?? "User:ANONYMOUS";
  const can = (c: Context, op: number, type: number, name: string) => httpAllowed(svc, c, op, type, name);
  const canCluster = (c: Context, op: number) => httpClusterAllowed(svc, c, op);
  const render = (c: Context, title: string, path: string, body: Html, status = 200) =>
    c.html(page(title, path, body, user(c)), status as 200);
  const denied = (c: Context, path: string, what: string) =>
    render(c, "Not authorized", path, html`<p>You (${user(c)}) may not ${what}.</p>`, 403);
  const fail = (c: Context, status: number, message: string) => c.json({ error: message }, status as 400);
  const enumName = (o: Record<string, number>, v: number) =>
    Object.entries(o).find(([, x]) => x === v)?.[0] ?? String(v);
  const hidden = (fields: Record<string, string | number>) =>
    Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}">`);
  const deleteButton = (api: string, fields: Record<string, string | number>, what: string) =>
    html`
      <form data-api="${api}" data-method="DELETE" data-then="reload"
        data-confirm="Delete ${what}?">${hidden(
          fields,
        )}<button type="submit" class="danger" aria-label="Delete ${what}">Delete</button></form>
    `;
  const options = (values: string[], selected = "") =>
    values.map((v) => html`<option value="${v}" ${new Html(v === selected ? "selected" : "")}>${v}</option>`);
  return { user, can, canCluster, render, denied, fail, enumName, hidden, deleteButton, options };
}
