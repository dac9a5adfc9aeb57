// Server-rendered HTML of the web console: escaping, the page frame, and small table helpers.
// Plain template strings, no framework: pages are rendered from the broker's state on each request,
// and the little behaviour they need (forms sent as JSON, the live chart) is /ui/app.js.

export function esc(v: unknown): string {
  return String(v ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A tagged template whose ${} values are escaped unless they are Html (already safe). */
export class Html {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
}
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    const part = Array.isArray(v)
      ? v.map((x) => (x instanceof Html ? x.text : esc(x))).join("")
      : v instanceof Html
      ? v.text
      : esc(v);
    out += part + strings[i + 1];
  });
  return new Html(out);
}

const NAV: [string, string][] = [
  ["/ui/", "Overview"],
  ["/ui/topics", "Topics"],
  ["/ui/groups", "Consumer groups"],
  ["/ui/acls", "ACLs"],
  ["/ui/users", "Users"],
  ["/ui/quotas", "Quotas"],
  ["/ui/configs", "Broker configs"],
];

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330;background:#f6f7f9}
header{display:flex;align-items:center;gap:24px;padding:10px 20px;background:#1d2330;color:#fff}
header a{color:#cfd6e4;text-decoration:none;padding:4px 2px}header a[aria-current=page],header a:hover{color:#fff;border-bottom:2px solid #5b9cff}
header strong{font-size:16px;margin-right:12px}nav{display:flex;gap:16px;flex-wrap:wrap}
main{max-width:1200px;margin:0 auto;padding:20px}h1{font-size:22px;margin:8px 0 16px}h2{font-size:17px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e8}th,td{padding:6px 10px;border-bottom:1px solid #e8ebf0;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin:8px 0;padding:10px;background:#fff;border:1px solid #dde1e8}
label{display:flex;flex-direction:column;font-size:12px;color:#4a5263;gap:2px}
input,select,textarea{font:inherit;padding:5px 7px;border:1px solid #b9c0cc;border-radius:3px;background:#fff}
button{font:inherit;padding:6px 12px;border:0;border-radius:3px;background:#2f6fdb;color:#fff;cursor:pointer}
button.danger{background:#c0392b}button:focus,input:focus,select:focus,textarea:focus{outline:2px solid #5b9cff;outline-offset:1px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}.card{background:#fff;border:1px solid #dde1e8;padding:12px}
.card b{display:block;font-size:20px;word-break:break-all}.muted{color:#6b7385}pre{margin:0;white-space:pre-wrap;word-break:break-all;font:12px ui-monospace,monospace}
[role=status]{min-height:1.4em;margin:6px 0;color:#1d6b34}[role=status].error{color:#b3261e}
svg{background:#fff;border:1px solid #dde1e8}`;

export function page(title: string, path: string, body: Html, user: string): string {
  const nav = NAV.map(([href, label]) =>
    html`
      <a href="${href}" ${new Html(path === href ? ' aria-current="page"' : "")}>${label}</a>
    `
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Chronik</title><style>${STYLE}</style></head>
<body><header><strong>Chronik</strong><nav aria-label="Main">${nav.map((n) => n.text).join("")}</nav>
<span class="muted" style="margin-left:auto">${esc(user)}</span></header>
<main id="main"><h1>${esc(title)}</h1><div role="status" aria-live="polite" id="status"></div>${body.text}</main>
<script src="/ui/app.js" defer></script></body></html>`;
}

export function table(headers: string[], rows: unknown[][], numeric: number[] = []): Html {
  const th = headers.map((h, i) =>
    html`
      <th scope="col" ${new Html(numeric.includes(i) ? ' class="num"' : "")}>${h}</th>
    `
  );
  const tr = rows.map((r) =>
    html`<tr>${r.map((c, i) => html`<td${new Html(numeric.includes(i) ? ' class="num"' : "")}>${c}</td>`)}</tr>`
  );
  return html`
    <table>
      <thead>
        <tr>${th}</tr>
      </thead>
      <tbody>${tr.length ? tr : [html`
        <tr>
          <td colspan="${headers.length}" class="muted">None</td>
        </tr>
      `]}</tbody>
    </table>
  `;
}
