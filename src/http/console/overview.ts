// The console's cluster pages: the overview with live rates (and the JSON it polls) and broker configs.
import { AclOperation } from "../../broker/auth/acl.ts";
import { ResourceType as ConfigType } from "../../broker/config/configs.ts";
import { html, table } from "./html.ts";
import { fmtBytes } from "./kit.ts";
import type { Hono } from "hono";
import type { Services } from "../../broker/services.ts";
import type { HttpEnv } from "../security.ts";
import type { ConsoleKit } from "./kit.ts";

export function overviewRoutes(app: Hono<HttpEnv>, svc: Services, kit: ConsoleKit): void {
  const { canCluster, render, denied, fail } = kit;
  // ---- overview ---------------------------------------------------------------------------------
  app.get("/ui/", (c) => {
    if (!canCluster(c, AclOperation.DESCRIBE)) return denied(c, "/ui/", "describe the cluster");
    const topics = [...svc.topics.list()].filter((t) => !t.internal);
    const partitions = topics.reduce((n, t) => n + t.partitions.length, 0);
    const bytes = topics.reduce((n, t) => n + t.partitions.reduce((m, p) => m + p.sizeInBytes, 0), 0);
    const groups = svc.groups.listGroups([], []).length + svc.share.groups.size;
    const card = (label: string, value: unknown) =>
      html`<div class="card"><span class="muted">${label}</span><b>${value}</b></div>`;
    return render(
      c,
      "Cluster overview",
      "/ui/",
      html`<div class="cards">${[
        card("Cluster id", svc.clusterId),
        card("Brokers", 1),
        card("Topics", topics.length),
        card("Partitions", partitions),
        card("Stored", fmtBytes(bytes)),
        card("Groups", groups),
        card("Runtime", svc.runtime.name),
      ]}</div>
      <h2>Brokers</h2>${
        table(["Id", "Host", "Port", "Controller"], [[
          svc.config.nodeId,
          svc.advertised.host,
          svc.advertised.port,
          "yes",
        ]])
      }
      <h2 id="rates-title">Throughput now</h2>
      <p class="muted">Bytes in and out per second, and produce and fetch requests per second, sampled every 2 s.</p>
      <svg id="rates" role="img" aria-labelledby="rates-title" width="900" height="200" viewBox="0 0 900 200"></svg>
      <p id="rates-now" aria-live="off"></p>`,
    );
  });

  app.get("/ui/api/rates", (c) => {
    if (!canCluster(c, AclOperation.DESCRIBE)) return fail(c, 403, "Cluster authorization failed.");
    const m = svc.metrics;
    return c.json({
      now: svc.now(),
      bytesIn: m.bytesIn,
      bytesOut: m.bytesOut,
      produce: m.requests[0],
      fetch: m.requests[1],
    });
  });

  app.get("/ui/configs", (c) => {
    if (!canCluster(c, AclOperation.DESCRIBE_CONFIGS)) return denied(c, "/ui/configs", "describe broker configs");
    const rows = svc.configs.describe(ConfigType.BROKER, String(svc.config.nodeId), null, false, false).configs
      .map((
        x,
      ) => [x.name, x.value ?? "(sensitive)", x.readOnly ? "read-only" : "dynamic", x.isDefault ? "default" : "set"]);
    return render(c, "Broker configs", "/ui/configs", table(["Config", "Value", "Kind", "Source"], rows));
  });
}
