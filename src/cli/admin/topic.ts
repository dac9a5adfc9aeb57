// chronik topic create|list|describe|delete|alter-config|add-partitions|trim
import { EARLIEST, LATEST, listOffsets } from "../../client/offsets.ts";
import { ConfigSource, ResourceType } from "../../broker/config/configs.ts";
import { check } from "../../client/errors.ts";
import { ZERO_UUID } from "../../protocol/codec.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { CreatePartitions } from "../../protocol/messages/37_create_partitions.ts";
import { CreateTopics } from "../../protocol/messages/19_create_topics.ts";
import { DeleteRecords } from "../../protocol/messages/21_delete_records.ts";
import { DeleteTopics } from "../../protocol/messages/20_delete_topics.ts";
import { DescribeConfigs } from "../../protocol/messages/32_describe_configs.ts";
import { IncrementalAlterConfigs } from "../../protocol/messages/44_incremental_alter_configs.ts";
import { UsageError } from "../start_config.ts";
import type { Command } from "./command.ts";
import type { Ctx } from "./context.ts";
import { keyValue } from "./context.ts";

/** DescribeConfigs ConfigSource names, indexed by code. */
const CONFIG_SOURCES: string[] = [];
for (const [name, c] of Object.entries(ConfigSource)) CONFIG_SOURCES[c] = name;

export async function describeConfigs(ctx: Ctx, resourceType: number, resourceName: string, keys: string[] | null) {
  const c = await ctx.client.any();
  const r = await c.request(DescribeConfigs, {
    resources: [{ resourceType, resourceName, configurationKeys: keys }],
    includeSynonyms: false,
    includeDocumentation: false,
  });
  const res = r.results?.[0];
  check(res?.errorCode ?? 0, res?.errorMessage, `describing configs of ${resourceName || "the cluster"}`);
  return (res?.configs ?? []).map((x) => ({
    name: x.name ?? "",
    value: x.isSensitive ? "[hidden]" : x.value ?? null,
    source: CONFIG_SOURCES[x.configSource ?? 0] ?? String(x.configSource),
    readOnly: x.readOnly ?? false,
  }));
}

/** SET / DELETE configs of a resource (IncrementalAlterConfigs). */
export async function alterConfigs(
  ctx: Ctx,
  resourceType: number,
  resourceName: string,
  set: [string, string][],
  del: string[],
  validateOnly = false,
): Promise<void> {
  if (set.length === 0 && del.length === 0) {
    throw new UsageError("nothing to change: give --set key=value or --delete key");
  }
  const c = await ctx.client.any();
  const r = await c.request(IncrementalAlterConfigs, {
    resources: [{
      resourceType,
      resourceName,
      configs: [
        ...set.map(([name, value]) => ({ name, configOperation: 0, value })),
        ...del.map((name) => ({ name, configOperation: 1, value: null })),
      ],
    }],
    validateOnly,
  });
  const res = r.responses?.[0];
  check(res?.errorCode ?? 0, res?.errorMessage, `altering configs of ${resourceName || "the cluster"}`);
}

function partitionsOf(ctx: Ctx, all: number[]): number[] {
  const given = ctx.all("--partition").map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--partition must be a partition number, got "${p}"`);
    return Number(p);
  });
  for (const p of given) if (!all.includes(p)) throw new UsageError(`no partition ${p} (the topic has ${all.length})`);
  return given.length ? given : all;
}

export const TOPIC_COMMANDS: Record<string, Command> = {
  "topic list": {
    summary: "list topics (internal ones with --all)",
    usage: "[--all]",
    options: { "--all": "flag" },
    aliases: { "-a": "--all" },
    async run(ctx) {
      const topics = (await ctx.client.topics(null)).filter((t) => ctx.has("--all") || !t.internal);
      ctx.table(
        topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.length,
          replicas: t.partitions[0]?.replicas.length ?? 0,
          ...(ctx.has("--all") ? { internal: t.internal } : {}),
        })),
        ctx.has("--all") ? ["name", "partitions", "replicas", "internal"] : ["name", "partitions", "replicas"],
      );
    },
  },
  "topic create": {
    summary: "create a topic",
    usage: "NAME [-p partitions] [-r replication-factor] [-c key=value]... [--if-not-exists] [--dry-run]",
    options: {
      "--partitions": "value",
      "--replication-factor": "value",
      "--config": "multi",
      "--if-not-exists": "flag",
      "--dry-run": "flag",
    },
    aliases: { "-p": "--partitions", "-r": "--replication-factor", "-c": "--config" },
    async run(ctx) {
      const names = ctx.opts.positional;
      if (names.length === 0) throw new UsageError("missing topic name");
      const c = await ctx.client.any();
      const r = await c.request(CreateTopics, {
        topics: names.map((name) => ({
          name,
          numPartitions: ctx.int("--partitions", -1),
          replicationFactor: ctx.int("--replication-factor", -1),
          assignments: [],
          configs: ctx.all("--config").map((kv) => {
            const [name, value] = keyValue(kv, "--config");
            return { name, value };
          }),
        })),
        timeoutMs: 30000,
        validateOnly: ctx.has("--dry-run"),
      });
      const rows = [];
      for (const t of r.topics ?? []) {
        if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && ctx.has("--if-not-exists")) {
          rows.push({ name: t.name, status: "exists" });
          continue;
        }
        check(t.errorCode ?? 0, t.errorMessage, `creating topic ${t.name}`);
        rows.push({
          name: t.name,
          status: ctx.has("--dry-run") ? "valid" : "created",
          partitions: t.numPartitions,
          replicas: t.replicationFactor,
        });
      }
      ctx.table(rows, ["name", "status", "partitions", "replicas"]);
    },
  },
  "topic delete": {
    summary: "delete topics",
    usage: "NAME... [--if-exists]",
    options: { "--if-exists": "flag" },
    async run(ctx) {
      const names = ctx.opts.positional;
      if (names.length === 0) throw new UsageError("missing topic name");
      const c = await ctx.client.any();
      const r = await c.request(DeleteTopics, {
        topics: names.map((name) => ({ name, topicId: ZERO_UUID })),
        topicNames: names,
        timeoutMs: 30000,
      });
      const rows = [];
      for (const t of r.responses ?? []) {
        if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && ctx.has("--if-exists")) {
          rows.push({ name: t.name, status: "absent" });
          continue;
        }
        check(t.errorCode ?? 0, t.errorMessage, `deleting topic ${t.name}`);
        rows.push({ name: t.name, status: "deleted" });
      }
      ctx.table(rows, ["name", "status"]);
    },
  },
  "topic describe": {
    summary: "partitions (leader, replicas, offsets) and configs set on a topic",
    usage: "NAME [--all-configs]",
    options: { "--all-configs": "flag" },
    async run(ctx) {
      const name = ctx.arg(0, "topic name");
      const t = await ctx.client.topic(name);
      const ps = t.partitions.map((p) => p.partition);
      const [start, end, configs] = await Promise.all([
        listOffsets(ctx.client, t, ps, EARLIEST),
        listOffsets(ctx.client, t, ps, LATEST),
        // Brokers without DescribeConfigs (librdkafka's mock cluster) still show partitions.
        (await ctx.client.any()).versions.has(DescribeConfigs.key)
          ? describeConfigs(ctx, ResourceType.TOPIC, name, null)
          : [],
      ]);
      const shown = ctx.has("--all-configs") ? configs : configs.filter((x) => x.source === "DYNAMIC_TOPIC_CONFIG");
      const partitions = t.partitions.map((p) => ({
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas.join(","),
        isr: p.isr.join(","),
        startOffset: start.get(p.partition) ?? null,
        endOffset: end.get(p.partition) ?? null,
        records: (end.get(p.partition) ?? 0n) - (start.get(p.partition) ?? 0n),
      }));
      if (ctx.json) {
        ctx.print(
          JSON.stringify(
            { name: t.name, topicId: t.topicId, internal: t.internal, partitions, configs: shown },
            (_k, v) => (typeof v === "bigint" ? Number(v) : v),
            2,
          ) + "\n",
        );
        return;
      }
      ctx.print(
        `Topic ${t.name}  id ${t.topicId}  partitions ${t.partitions.length}${t.internal ? "  (internal)" : ""}\n\n`,
      );
      ctx.table(partitions, ["partition", "leader", "replicas", "isr", "startOffset", "endOffset", "records"]);
      ctx.print(`\n${ctx.has("--all-configs") ? "Configs" : "Configs set on the topic"}:\n`);
      if (shown.length === 0) ctx.print("(none: every config has the broker's default)\n");
      else ctx.table(shown, ["name", "value", "source"]);
    },
  },
  "topic alter-config": {
    summary: "set or delete topic configs",
    usage: "NAME [--set key=value]... [--delete key]... [--dry-run]",
    options: { "--set": "multi", "--delete": "multi", "--dry-run": "flag" },
    async run(ctx) {
      const name = ctx.arg(0, "topic name");
      const set = ctx.all("--set").map((kv) => keyValue(kv, "--set"));
      await alterConfigs(ctx, ResourceType.TOPIC, name, set, ctx.all("--delete"), ctx.has("--dry-run"));
      ctx.record({
        topic: name,
        set: Object.fromEntries(set),
        deleted: ctx.all("--delete"),
        dryRun: ctx.has("--dry-run"),
      });
    },
  },
  "topic add-partitions": {
    summary: "raise a topic's partition count",
    usage: "NAME -p TOTAL [--dry-run]",
    options: { "--partitions": "value", "--dry-run": "flag" },
    aliases: { "-p": "--partitions" },
    async run(ctx) {
      const name = ctx.arg(0, "topic name");
      const count = ctx.int("--partitions");
      const c = await ctx.client.any();
      const r = await c.request(CreatePartitions, {
        topics: [{ name, count, assignments: null }],
        timeoutMs: 30000,
        validateOnly: ctx.has("--dry-run"),
      });
      const res = r.results?.[0];
      check(res?.errorCode ?? 0, res?.errorMessage, `adding partitions to ${name}`);
      ctx.record({ topic: name, partitions: count, dryRun: ctx.has("--dry-run") });
    },
  },
  "topic trim": {
    summary: "delete records before an offset (DeleteRecords)",
    usage: "NAME --offset N|latest [--partition P]...",
    options: { "--offset": "value", "--partition": "multi" },
    aliases: { "-o": "--offset", "-p": "--partition" },
    async run(ctx) {
      const name = ctx.arg(0, "topic name");
      const raw = ctx.get("--offset");
      if (raw === undefined) throw new UsageError("--offset is required (a number, or latest for everything)");
      if (raw !== "latest" && !/^\d+$/.test(raw)) throw new UsageError(`--offset must be a number or latest`);
      const t = await ctx.client.topic(name);
      const ps = partitionsOf(ctx, t.partitions.map((p) => p.partition));
      const byLeader = new Map<number, number[]>();
      for (const p of ps) {
        const l = t.partitions.find((x) => x.partition === p)!.leader;
        (byLeader.get(l) ?? byLeader.set(l, []).get(l)!).push(p);
      }
      const rows: Record<string, unknown>[] = [];
      for (const [leader, list] of byLeader) {
        const c = await ctx.client.broker(leader);
        const r = await c.request(DeleteRecords, {
          topics: [{
            name,
            partitions: list.map((p) => ({ partitionIndex: p, offset: raw === "latest" ? -1n : BigInt(raw) })),
          }],
          timeoutMs: 30000,
        });
        for (const p of r.topics?.[0]?.partitions ?? []) {
          check(p.errorCode ?? 0, null, `trimming ${name}-${p.partitionIndex}`);
          rows.push({ partition: p.partitionIndex, startOffset: p.lowWatermark });
        }
      }
      rows.sort((a, b) => Number(a.partition) - Number(b.partition));
      ctx.table(rows, ["partition", "startOffset"]);
    },
  },
};
