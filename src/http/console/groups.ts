// The console's consumer group pages (list with lag, one group with members and lag per partition)
// and the offset reset they post.
import { AclOperation, ResourceType } from "../../broker/auth/acl.ts";
import { offsetForTimestamp } from "../../broker/log_scan.ts";
import { errorName } from "../../client/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { html, table } from "./html.ts";
import { groupLags } from "../lag.ts";
import type { Hono } from "hono";
import type { Services } from "../../broker/services.ts";
import type { HttpEnv } from "../security.ts";
import type { ConsoleKit } from "./kit.ts";

export function groupRoutes(app: Hono<HttpEnv>, svc: Services, kit: ConsoleKit): void {
  const { can, render, denied, fail } = kit;
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
}
