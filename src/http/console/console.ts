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
import type { Context, Hono } from "hono";
import { AclOperation, AclPermission, PatternType, ResourceType } from "../../broker/auth/acl.ts";
import {
  credentialFromPassword,
  isScram,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  SCRAM_MECHANISMS,
} from "../../broker/auth/sasl.ts";
import { scramUpsertProblem, scramUserProblem, UNKNOWN_SCRAM_MECHANISM } from "../../broker/auth/scram_checks.ts";
import type { EntityPart } from "../../broker/config/quotas.ts";
import { ResourceType as ConfigType } from "../../broker/config/configs.ts";
import type { Services } from "../../broker/services.ts";
import { offsetForTimestamp } from "../../broker/log_scan.ts";
import { createTopic, deleteTopic } from "../../broker/topic_admin.ts";
import { errorName } from "../../client/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { HttpEnv } from "../security.ts";
import { httpAllowed, httpClusterAllowed } from "../security.ts";
import { groupLags } from "../lag.ts";
import { APP_JS } from "./app_js.ts";
import { Html, html, page, table } from "./html.ts";

function fmtBytes(n: number): string {
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

export function consoleRoutes(app: Hono<HttpEnv>, svc: Services): void {
  const user = (c: Context) => (c.get("principal") as string | undefined) ?? "User:ANONYMOUS";
  const can = (c: Context, op: number, type: number, name: string) => httpAllowed(svc, c, op, type, name);
  const canCluster = (c: Context, op: number) => httpClusterAllowed(svc, c, op);
  const render = (c: Context, title: string, path: string, body: Html, status = 200) =>
    c.html(page(title, path, body, user(c)), status as 200);
  const denied = (c: Context, path: string, what: string) =>
    render(c, "Not authorized", path, html`<p>You (${user(c)}) may not ${what}.</p>`, 403);
  const fail = (c: Context, status: number, message: string) => c.json({ error: message }, status as 400);

  app.get("/", (c) => {
    if ((c.req.header("accept") ?? "").includes("text/html")) return c.redirect("/ui/");
    return c.json({});
  });
  app.get("/ui", (c) => c.redirect("/ui/"));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/ui/app.js", (c) => c.body(APP_JS, 200, { "content-type": "text/javascript; charset=utf-8" }));

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

  // ---- topics -----------------------------------------------------------------------------------
  app.get("/ui/topics", (c) => {
    const rows = [...svc.topics.list()]
      .filter((t) => can(c, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((t) => [
        html`<a href="/ui/topics/${encodeURIComponent(t.name)}">${t.name}</a>`,
        t.partitions.length,
        t.partitions.reduce((n, p) => n + (p.logEndOffset - p.logStartOffset), 0),
        fmtBytes(t.partitions.reduce((n, p) => n + p.sizeInBytes, 0)),
        t.internal ? "internal" : "",
      ]);
    return render(
      c,
      "Topics",
      "/ui/topics",
      html`<form data-api="/ui/api/topics" data-method="POST" data-then="reload" aria-labelledby="create-title">
        <h2 id="create-title" style="width:100%;margin:0">Create a topic</h2>
        <label>Name <input name="name" required pattern="[a-zA-Z0-9._-]+" aria-required="true"></label>
        <label>Partitions <input name="partitions" type="number" min="1" value="1"></label>
        <label>Configs (name=value, one per line) <textarea name="configs" rows="1"></textarea></label>
        <button type="submit">Create topic</button></form>
      ${table(["Topic", "Partitions", "Records", "Size", ""], rows, [1, 2, 3])}`,
    );
  });

  app.get("/ui/topics/:name", (c) => {
    const name = c.req.param("name");
    const path = `/ui/topics/${encodeURIComponent(name)}`;
    // Authorization before existence (Kafka): a refusal says nothing of whether the topic exists.
    if (!can(c, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return denied(c, path, `describe topic ${name}`);
    const t = svc.topics.get(name);
    if (!t) return render(c, "Topic not found", path, html`<p>No topic ${name}.</p>`, 404);
    const parts = t.partitions.map((
      p,
      i,
    ) => [i, p.logStartOffset, p.logEndOffset, fmtBytes(p.sizeInBytes), svc.config.nodeId]);
    const configs = svc.configs.describe(ConfigType.TOPIC, name, null, false, false).configs
      .map((x) => [x.name, x.value ?? "(sensitive)", x.isDefault ? "default" : "set"]);
    const options = t.partitions.map((_, i) => html`<option value="${i}">${i}</option>`);
    return render(
      c,
      `Topic ${name}`,
      path,
      html`
        <h2>Partitions</h2>${table(["Partition", "Start offset", "End offset", "Size", "Leader"], parts, [0, 1, 2, 3])}
              <h2 id="browse-title">Messages</h2>
              <form id="browse" data-topic="${name}" aria-labelledby="browse-title">
                <label>Partition <select name="partition">${options}</select></label>
                <label>From offset <input name="offset" type="number" min="0" value="${t.partitions[0]
                  ?.logStartOffset ?? 0}"></label>
                <label>or from time <input name="time" type="datetime-local" step="1"></label>
                <label>Show as <select name="as"><option value="text">text</option><option value="json">JSON</option><option value="hex">hex</option></select></label>
                <label>Max <input name="max" type="number" min="1" max="500" value="50"></label>
                <button type="submit">Show messages</button></form>
              <div id="messages"></div>
              <h2 id="produce-title">Produce a message</h2>
              <form data-api="/v1/topics/${name}/records" data-method="POST" data-kind="produce"
          aria-labelledby="produce-title">
                <label>Partition <select name="partition"><option value="">any</option>${options}</select></label>
                <label>Key <input name="key"></label>
                <label>Value <textarea name="value" rows="2" required></textarea></label>
                <label>Headers (name=value per line) <textarea name="headers" rows="1"></textarea></label>
                <button type="submit">Produce</button></form>
              <h2 id="configs-title">Configs</h2>
              <form data-api="/ui/api/topics/${name}/configs" data-method="PUT" data-then="reload"
          aria-labelledby="configs-title">
                <label>Config <input name="config" required list="config-names"></label>
                <label>Value (empty resets it) <input name="value"></label>
                <datalist id="config-names">${configs.map((x) => html`<option value="${x[0]}">`)}</datalist>
                <button type="submit">Set config</button></form>
              ${table(["Config", "Value", "Source"], configs)}
              <h2>Delete</h2>
              <form data-api="/ui/api/topics/${name}" data-method="DELETE" data-then="/ui/topics"
          data-confirm="Delete topic ${name} and all its records?">
                <button type="submit" class="danger">Delete topic ${name}</button></form>
      `,
    );
  });

  app.post("/ui/api/topics", async (c) => {
    const b = await c.req.json().catch(() => null) as { name?: string; partitions?: string; configs?: string } | null;
    if (!b?.name) return fail(c, 400, "A topic name is required.");
    if (!canCluster(c, AclOperation.CREATE) && !can(c, AclOperation.CREATE, ResourceType.TOPIC, b.name)) {
      return fail(c, 403, `Not authorized to create topic ${b.name}.`);
    }
    const configs = String(b.configs ?? "").split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
      const i = l.indexOf("=");
      return { name: l.slice(0, i).trim(), value: l.slice(i + 1).trim() };
    });
    const out = await createTopic(svc, {
      name: b.name,
      numPartitions: Number(b.partitions ?? 1) || 1,
      replicationFactor: -1,
      assignments: [],
      configs,
    }, false);
    if (out.errorCode !== ErrorCode.NONE) {
      return fail(c, 400, `${errorName(out.errorCode)}: ${out.errorMessage ?? ""}`);
    }
    return c.json({ message: `Created topic ${b.name}.` });
  });

  app.delete("/ui/api/topics/:name", async (c) => {
    const name = c.req.param("name");
    if (!can(c, AclOperation.DELETE, ResourceType.TOPIC, name)) return fail(c, 403, "Not authorized.");
    const t = svc.topics.get(name);
    if (!t) return fail(c, 404, `No topic ${name}.`);
    if (t.internal) return fail(c, 400, "Internal topics cannot be deleted.");
    const out = await deleteTopic(svc, t, `console, ${user(c)}`);
    if (out.errorCode !== ErrorCode.NONE) return fail(c, 500, `${errorName(out.errorCode)}: ${out.errorMessage}`);
    return c.json({ message: `Deleted topic ${name}.` });
  });

  app.put("/ui/api/topics/:name/configs", async (c) => {
    const name = c.req.param("name");
    if (!can(c, AclOperation.ALTER_CONFIGS, ResourceType.TOPIC, name)) return fail(c, 403, "Not authorized.");
    const b = await c.req.json().catch(() => null) as { config?: string; value?: string } | null;
    if (!b?.config) return fail(c, 400, "A config name is required.");
    const out = await svc.configs.alter(
      ConfigType.TOPIC,
      name,
      [{ name: b.config, op: b.value ? 0 : 1, value: b.value ? b.value : null }],
      true,
      false,
    );
    if (out.errorCode !== ErrorCode.NONE) return fail(c, 400, out.errorMessage ?? "Invalid config.");
    return c.json({ message: `Set ${b.config} on ${name}.` });
  });

  /** The first offset at or after a timestamp (ListOffsets' answer), for the message browser. */
  app.get("/ui/api/topics/:name/partitions/:p/offset", async (c) => {
    const name = c.req.param("name");
    if (!can(c, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return fail(c, 403, "Not authorized.");
    const log = svc.topics.get(name)?.partitions[Number(c.req.param("p"))];
    if (!log) return fail(c, 404, "Unknown partition.");
    const found = await offsetForTimestamp(log, Number(c.req.query("timestamp")));
    return c.json({ offset: found ? Number(found.offset) : log.logEndOffset });
  });

  // ---- groups -----------------------------------------------------------------------------------
  app.get("/ui/groups", (c) => {
    const rows = svc.groups.listGroups([], [])
      .concat(
        [...svc.share.groups.values()].map((g) => ({
          groupId: g.groupId,
          groupState: g.state,
          groupType: "share",
          protocolType: "share",
        })),
      )
      .filter((g) => can(c, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId))
      .map((g) => {
        const cg = svc.groups.group(g.groupId);
        const lag = cg ? groupLags(svc, cg.offsets).reduce((n, x) => n + (x.lag ?? 0), 0) : 0;
        return [
          g.groupType === "share"
            ? g.groupId
            : html`<a href="/ui/groups/${encodeURIComponent(g.groupId)}">${g.groupId}</a>`,
          g.groupType,
          g.groupState,
          cg?.members.size ?? svc.share.groups.get(g.groupId)?.members.size ?? 0,
          g.groupType === "share" ? "" : lag,
        ];
      });
    return render(
      c,
      "Consumer groups",
      "/ui/groups",
      table(["Group", "Type", "State", "Members", "Lag"], rows, [3, 4]),
    );
  });

  app.get("/ui/groups/:id", (c) => {
    const id = c.req.param("id");
    const path = `/ui/groups/${encodeURIComponent(id)}`;
    if (!can(c, AclOperation.DESCRIBE, ResourceType.GROUP, id)) return denied(c, path, `describe group ${id}`);
    const g = svc.groups.group(id);
    if (!g || g.state === "Dead") return render(c, "Group not found", path, html`<p>No group ${id}.</p>`, 404);
    const members = [...g.members.values()].map((m) => {
      const assigned = g.kind === "consumer" ? g.namedAssignment(m as Parameters<typeof g.namedAssignment>[0]) : [];
      return [
        m.memberId,
        m.clientId,
        m.clientHost,
        assigned.map((a) => `${a.topic}: ${a.partitions.join(",")}`).join("; "),
      ];
    });
    const offsets = groupLags(svc, g.offsets, (t) => can(c, AclOperation.DESCRIBE, ResourceType.TOPIC, t)).map((
      x,
    ) => [x.topic, x.partition, x.committed, x.end ?? -1, x.lag ?? ""])
      .sort((
        a,
        b,
      ) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : Number(a[1]) - Number(b[1])));
    const topics = [...new Set(offsets.map((o) => String(o[0])))];
    return render(
      c,
      `Group ${id}`,
      path,
      html`
        <p>${g.kind} group, state <strong id="group-state">${g.state}</strong>.</p>
              <h2>Members</h2>${table(["Member", "Client id", "Host", "Assignment"], members)}
              <h2>Offsets and lag</h2>${table(["Topic", "Partition", "Committed", "End offset", "Lag"], offsets, [
                1,
                2,
                3,
                4,
              ])}
              <h2 id="reset-title">Reset offsets</h2>
              <p class="muted">Only while the group has no members, as kafka-consumer-groups --reset-offsets.</p>
              <form data-api="/ui/api/groups/${id}/offsets" data-method="POST" data-then="reload"
          aria-labelledby="reset-title">
                <label>Topic <select name="topic">${topics.map((t) =>
                  html`<option value="${t}">${t}</option>`
                )}</select></label>
                <label>To <select name="to"><option value="earliest">earliest</option><option value="latest">latest</option>
                  <option value="offset">offset</option><option value="timestamp">timestamp (ms)</option></select></label>
                <label>Value <input name="value" type="number" min="0"></label>
                <button type="submit">Reset offsets</button></form>
      `,
    );
  });

  app.post("/ui/api/groups/:id/offsets", async (c) => {
    const id = c.req.param("id");
    if (!can(c, AclOperation.READ, ResourceType.GROUP, id)) return fail(c, 403, "Not authorized.");
    const b = await c.req.json().catch(() => null) as { topic?: string; to?: string; value?: string } | null;
    if (b?.topic && !can(c, AclOperation.READ, ResourceType.TOPIC, b.topic)) return fail(c, 403, "Not authorized.");
    const t = b?.topic ? svc.topics.get(b.topic) : undefined;
    if (!t) return fail(c, 400, "Unknown topic.");
    const g = svc.groups.group(id);
    if (g && g.members.size > 0) return fail(c, 409, `Group ${id} has active members; stop them first.`);
    const partitions = [];
    for (let i = 0; i < t.partitions.length; i++) {
      const log = t.partitions[i];
      let offset: number;
      if (b!.to === "earliest") offset = log.logStartOffset;
      else if (b!.to === "latest") offset = log.logEndOffset;
      else if (b!.to === "offset") offset = Math.min(Math.max(Number(b!.value), log.logStartOffset), log.logEndOffset);
      else {
        // As kafka-consumer-groups --to-datetime: ListOffsets' answer (never below the log start), else the end.
        const found = await offsetForTimestamp(log, Number(b!.value));
        offset = found ? Number(found.offset) : log.logEndOffset;
      }
      partitions.push({
        partitionIndex: i,
        committedOffset: BigInt(offset),
        committedLeaderEpoch: -1,
        committedMetadata: "",
      });
    }
    const out = await svc.groups.commitOffsets({
      groupId: id,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [{ name: t.name, partitions }],
    });
    const bad = out.flatMap((x) => x.partitions).find((p) => p.errorCode !== ErrorCode.NONE);
    if (bad) return fail(c, 409, `${errorName(bad.errorCode)}`);
    return c.json({ message: `Reset ${id} on ${t.name} to ${b!.to}.` });
  });

  // ---- security and configs (read-only views) ---------------------------------------------------
  // ---- ACLs, SCRAM users, quotas: views, and changes authorized as CreateAcls / DeleteAcls (ALTER on
  // the cluster), AlterUserScramCredentials (ALTER) and AlterClientQuotas (ALTER_CONFIGS) are ----------
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

  app.get("/ui/configs", (c) => {
    if (!canCluster(c, AclOperation.DESCRIBE_CONFIGS)) return denied(c, "/ui/configs", "describe broker configs");
    const rows = svc.configs.describe(ConfigType.BROKER, String(svc.config.nodeId), null, false, false).configs
      .map((
        x,
      ) => [x.name, x.value ?? "(sensitive)", x.readOnly ? "read-only" : "dynamic", x.isDefault ? "default" : "set"]);
    return render(c, "Broker configs", "/ui/configs", table(["Config", "Value", "Kind", "Source"], rows));
  });
}
