// The console's topic pages (list, one topic with its message browser, produce form and configs) and
// the JSON they post: create, delete, set a config, find an offset by time.
import { AclOperation, ResourceType } from "../../broker/auth/acl.ts";
import { offsetForTimestamp } from "../../broker/log_scan.ts";
import { createTopic, deleteTopic } from "../../broker/topic_admin.ts";
import { ResourceType as ConfigType } from "../../broker/config/configs.ts";
import { errorName } from "../../client/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { html, table } from "./html.ts";
import { fmtBytes } from "./kit.ts";
import type { Hono } from "hono";
import type { Services } from "../../broker/services.ts";
import type { HttpEnv } from "../security.ts";
import type { ConsoleKit } from "./kit.ts";

export function topicRoutes(app: Hono<HttpEnv>, svc: Services, kit: ConsoleKit): void {
  const { user, can, canCluster, render, denied, fail } = kit;
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
}
