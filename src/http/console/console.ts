// The web console under /ui/ (issue #19): cluster overview with live produce/fetch rates, topics
// (partitions, offsets, sizes, configs; create, delete, edit configs), a message browser (seek by
// offset or timestamp; key, value and headers as text, JSON or hex, decoded through the schema
// registry when a value carries a schema id; produce a message), consumer groups (members,
// assignments, lag per partition; reset offsets), ACLs, SCRAM users and client quotas (add, delete),
// and broker configs.
//
// Pages are rendered on the server from the broker's services; forms post JSON to /ui/api/* (so
// the HTTP side's JSON-only rule and authentication apply to them as to every write), and the
// browser-side script (app.js) only sends forms, renders records and draws the chart. Every view
// and action is authorized like the Kafka API it stands for. Nothing is fetched from elsewhere:
// it works offline and inside the compiled binary.
//
// One module per area (overview.ts, topics.ts, groups.ts, acls.ts, users.ts, quotas.ts), each with its
// pages and the JSON routes its forms post; kit.ts holds what they share.
import type { Hono } from "hono";
import type { Services } from "../../broker/services.ts";
import type { HttpEnv } from "../security.ts";
import { aclRoutes } from "./acls.ts";
import { APP_JS } from "./app_js.ts";
import { groupRoutes } from "./groups.ts";
import { consoleKit } from "./kit.ts";
import { overviewRoutes } from "./overview.ts";
import { quotaRoutes } from "./quotas.ts";
import { topicRoutes } from "./topics.ts";
import { userRoutes } from "./users.ts";

export function consoleRoutes(app: Hono<HttpEnv>, svc: Services): void {
  app.get("/", (c) => {
    if ((c.req.header("accept") ?? "").includes("text/html")) return c.redirect("/ui/");
    return c.json({});
  });
  app.get("/ui", (c) => c.redirect("/ui/"));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/ui/app.js", (c) => c.body(APP_JS, 200, { "content-type": "text/javascript; charset=utf-8" }));

  const kit = consoleKit(svc);
  overviewRoutes(app, svc, kit);
  topicRoutes(app, svc, kit);
  groupRoutes(app, svc, kit);
  aclRoutes(app, svc, kit);
  userRoutes(app, svc, kit);
  quotaRoutes(app, svc, kit);
}
