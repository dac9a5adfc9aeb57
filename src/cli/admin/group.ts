// chronik group list|describe|seek|delete
import type { KafkaConnection } from "../../client/connection.ts";
import { check, KafkaError } from "../../client/errors.ts";
import { EARLIEST, LATEST, listOffsets } from "../../client/offsets.ts";
import { CodecError, decodeVersionedData } from "../../protocol/codec.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ConsumerProtocolAssignmentSchema } from "../../protocol/messages/consumer_protocol.ts";
import { DeleteGroups } from "../../protocol/messages/42_delete_groups.ts";
import { DescribeGroups } from "../../protocol/messages/15_describe_groups.ts";
import { ConsumerGroupDescribe } from "../../protocol/messages/69_consumer_group_describe.ts";
import { ListGroups } from "../../protocol/messages/16_list_groups.ts";
import { OffsetCommit } from "../../protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../protocol/messages/09_offset_fetch.ts";
import { UsageError } from "../start_config.ts";
import type { Command } from "./command.ts";
import type { Ctx } from "./context.ts";
import { parseTime } from "./consume.ts";

type Member = {
  memberId: string;
  clientId: string;
  host: string;
  instanceId: string | null;
  assignment: Map<string, number[]>;
};

export async function committedOffsets(
  ctx: Ctx,
  c: KafkaConnection,
  group: string,
): Promise<Map<string, Map<number, bigint>>> {
  // v10+ name topics by id only; this client names them.
  const v = c.version(OffsetFetch as never, 9);
  const ask = (topics: { name: string; partitionIndexes: number[] }[] | null) =>
    c.send(OffsetFetch, v, {
      groupId: group,
      topics,
      groups: [{ groupId: group, memberId: null, memberEpoch: -1, topics }],
      requireStable: false,
    });
  const everyTopic = async () =>
    (await ctx.client.topics(null)).map((t) => ({
      name: t.name,
      partitionIndexes: t.partitions.map((p) => p.partition),
    }));
  let r;
  if (v < 2) {
    // Before v2 "all topics" (null) cannot be asked: name every partition of every topic.
    r = await ask(await everyTopic());
  } else {
    try {
      r = await ask(null);
    } catch (e) {
      // librdkafka's mock cluster answers "all topics" with a null array, which Kafka never sends.
      if (!(e instanceof CodecError)) throw e;
      r = await ask(await everyTopic());
    }
  }
  const out = new Map<string, Map<number, bigint>>();
  const topics = v >= 8 ? r.groups?.[0]?.topics : r.topics;
  check((v >= 8 ? r.groups?.[0]?.errorCode : r.errorCode) ?? 0, null, `fetching offsets of group ${group}`);
  for (const t of topics ?? []) {
    for (const p of t.partitions ?? []) {
      if ((p.committedOffset ?? -1n) < 0n) continue;
      (out.get(t.name!) ?? out.set(t.name!, new Map()).get(t.name!)!).set(p.partitionIndex!, p.committedOffset!);
    }
  }
  return out;
}

/** `missingIsEmpty`: a group that does not exist is described as empty (seek creates its offsets). */
async function describeGroup(ctx: Ctx, group: string, missingIsEmpty = false) {
  const c = await ctx.client.coordinator(group, 0);
  // Brokers without DescribeGroups (librdkafka's mock cluster): offsets only.
  if (!c.versions.has(DescribeGroups.key)) {
    return { coordinator: c, state: "Unknown", protocol: "", type: "", members: [] as Member[] };
  }
  const r = await c.request(DescribeGroups, { groups: [group], includeAuthorizedOperations: false });
  const g = r.groups?.[0];
  // Kafka 4 answers DescribeGroups for a KIP-848 consumer group with GROUP_ID_NOT_FOUND: ask
  // ConsumerGroupDescribe below before giving up.
  const consumerApi = c.versions.has(ConsumerGroupDescribe.key);
  if (g?.errorCode === ErrorCode.GROUP_ID_NOT_FOUND && !consumerApi) {
    if (missingIsEmpty) return { coordinator: c, state: "Empty", protocol: "", type: "", members: [] as Member[] };
    throw new KafkaError("GROUP_ID_NOT_FOUND", `group ${group} does not exist`);
  }
  if (g?.errorCode !== ErrorCode.GROUP_ID_NOT_FOUND) check(g?.errorCode ?? 0, null, `describing group ${group}`);
  let state = g?.groupState ?? "Unknown";
  let protocol = g?.protocolData ?? "";
  let type = g?.protocolType ?? "";
  const members: Member[] = (g?.members ?? []).map((m) => {
    const assignment = new Map<string, number[]>();
    if (m.memberAssignment && m.memberAssignment.length > 0 && type === "consumer") {
      try {
        for (
          const tp of decodeVersionedData(ConsumerProtocolAssignmentSchema, m.memberAssignment).value.assignedPartitions
        ) {
          assignment.set(tp.topic, tp.partitions);
        }
      } catch {
        // not the consumer protocol's assignment
      }
    }
    return {
      memberId: m.memberId ?? "",
      clientId: m.clientId ?? "",
      host: m.clientHost ?? "",
      instanceId: m.groupInstanceId ?? null,
      assignment,
    };
  });
  // A KIP-848 consumer group: its members come from ConsumerGroupDescribe.
  if ((state === "Dead" || members.length === 0 || g?.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) && consumerApi) {
    const cr = await c.request(ConsumerGroupDescribe, { groupIds: [group], includeAuthorizedOperations: false });
    const cg = cr.groups?.[0];
    if (g?.errorCode === ErrorCode.GROUP_ID_NOT_FOUND && (cg?.errorCode ?? 0) !== 0) {
      if (missingIsEmpty) return { coordinator: c, state: "Empty", protocol: "", type: "", members: [] as Member[] };
      throw new KafkaError("GROUP_ID_NOT_FOUND", `group ${group} does not exist`);
    }
    if (cg && (cg.errorCode ?? 0) === 0) {
      state = cg.groupState ?? state;
      protocol = cg.assignorName ?? protocol;
      type = "consumer (KIP-848)";
      for (const m of cg.members ?? []) {
        const assignment = new Map<string, number[]>();
        for (const tp of m.assignment?.topicPartitions ?? []) assignment.set(tp.topicName ?? "", tp.partitions ?? []);
        members.push({
          memberId: m.memberId ?? "",
          clientId: m.clientId ?? "",
          host: m.clientHost ?? "",
          instanceId: m.instanceId ?? null,
          assignment,
        });
      }
    }
  }
  return { coordinator: c, state, protocol, type, members };
}

/** Committed offset, end offset and lag per partition of every topic the group has offsets for (or is assigned). */
async function lagRows(ctx: Ctx, group: string, c: KafkaConnection, members: Member[]) {
  const offsets = await committedOffsets(ctx, c, group);
  const owner = new Map<string, Member>();
  for (const m of members) for (const [t, ps] of m.assignment) for (const p of ps) owner.set(`${t}\u0000${p}`, m);
  const topics = new Set([...offsets.keys(), ...members.flatMap((m) => [...m.assignment.keys()])]);
  const rows: Record<string, unknown>[] = [];
  for (const name of [...topics].sort()) {
    let meta;
    try {
      meta = await ctx.client.topic(name);
    } catch {
      continue; // the topic was deleted since
    }
    const ps = meta.partitions.map((p) => p.partition);
    const end = await listOffsets(ctx.client, meta, ps, LATEST);
    for (const p of ps) {
      const com = offsets.get(name)?.get(p);
      const m = owner.get(`${name}\u0000${p}`);
      if (com === undefined && !m) continue;
      const e = end.get(p) ?? null;
      rows.push({
        topic: name,
        partition: p,
        currentOffset: com ?? null,
        endOffset: e,
        lag: com === undefined || e === null ? null : e - com,
        memberId: m?.memberId ?? null,
        clientId: m?.clientId ?? null,
        host: m?.host ?? null,
      });
    }
  }
  return rows;
}

/** earliest | latest | offset:N | timestamp:<ms|ISO> | duration:<ISO-8601 duration like PT1H, or 15m, 2h, 1d> */
export function parseSeek(
  s: string,
): { kind: "earliest" | "latest" } | { kind: "offset"; offset: bigint } | { kind: "time"; ms: bigint } {
  if (s === "earliest" || s === "latest") return { kind: s };
  const [k, v] = [s.slice(0, s.indexOf(":")), s.slice(s.indexOf(":") + 1)];
  if (s.indexOf(":") > 0) {
    if (k === "offset" && /^\d+$/.test(v)) return { kind: "offset", offset: BigInt(v) };
    if (k === "timestamp") return { kind: "time", ms: parseTime(v, "--to timestamp") };
    if (k === "duration") return { kind: "time", ms: BigInt(Date.now()) - BigInt(durationMs(v)) };
  }
  throw new UsageError(
    `--to must be earliest, latest, offset:N, timestamp:<ms|ISO time> or duration:<PT1H|15m|2h|1d>, got "${s}"`,
  );
}

export function durationMs(s: string): number {
  const short = /^(\d+)(ms|s|m|h|d)$/.exec(s);
  if (short) return Number(short[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[short[2] as "s"];
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s);
  if (iso && s !== "P" && s !== "PT") {
    const [, d, h, m, sec] = iso;
    return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(m ?? 0)) * 60000 + Math.round(Number(sec ?? 0) * 1000);
  }
  throw new UsageError(`"${s}" is not a duration (PT1H30M, 15m, 2h, 1d)`);
}

export const GROUP_COMMANDS: Record<string, Command> = {
  "group list": {
    summary: "list consumer groups with state and type",
    usage: "[--state STATE]...",
    options: { "--state": "multi" },
    async run(ctx) {
      const ids = await ctx.client.brokerIds();
      const rows: Record<string, unknown>[] = [];
      for (const id of ids) {
        const c = await ctx.client.broker(id);
        const r = await c.request(ListGroups, { statesFilter: ctx.all("--state"), typesFilter: [] });
        check(r.errorCode ?? 0, null, "listing groups");
        for (const g of r.groups ?? []) {
          rows.push({
            group: g.groupId,
            state: g.groupState ?? null,
            type: g.groupType ?? null,
            protocolType: g.protocolType,
          });
        }
      }
      rows.sort((a, b) => String(a.group).localeCompare(String(b.group)));
      ctx.table(rows, ["group", "state", "type", "protocolType"]);
    },
  },
  "group describe": {
    summary: "members, assignments and lag per partition",
    usage: "GROUP",
    async run(ctx) {
      const group = ctx.arg(0, "group id");
      const d = await describeGroup(ctx, group);
      const rows = await lagRows(ctx, group, d.coordinator, d.members);
      const totalLag = rows.reduce((n, r) => n + (typeof r.lag === "bigint" ? Number(r.lag) : 0), 0);
      if (ctx.json) {
        ctx.printJson({
          group,
          state: d.state,
          protocolType: d.type,
          protocol: d.protocol,
          members: d.members.map((m) => ({ ...m, assignment: Object.fromEntries(m.assignment) })),
          offsets: rows,
          totalLag,
        });
        return;
      }
      ctx.print(
        `Group ${group}  state ${d.state}  type ${d.type || "-"}  protocol ${
          d.protocol || "-"
        }  members ${d.members.length}  lag ${totalLag}\n\n`,
      );
      if (d.members.length) {
        ctx.table(
          d.members.map((m) => ({
            memberId: m.memberId,
            clientId: m.clientId,
            host: m.host,
            assignment: [...m.assignment].map(([t, ps]) => `${t}:${ps.join(",")}`).join(" ") || "-",
          })),
          ["memberId", "clientId", "host", "assignment"],
        );
        ctx.print("\n");
      }
      if (rows.length === 0) ctx.print("(no committed offsets)\n");
      else ctx.table(rows, ["topic", "partition", "currentOffset", "endOffset", "lag", "clientId"]);
    },
  },
  "group seek": {
    summary: "reset a group's offsets (earliest, latest, offset, timestamp, duration ago)",
    usage: "GROUP --topic TOPIC[:P,P] --to earliest|latest|offset:N|timestamp:T|duration:D [--dry-run]",
    options: { "--topic": "multi", "--to": "value", "--dry-run": "flag", "--all-topics": "flag" },
    aliases: { "-t": "--topic" },
    async run(ctx) {
      const group = ctx.arg(0, "group id");
      const to = parseSeek(
        ctx.get("--to") ?? (() => {
          throw new UsageError("--to is required");
        })(),
      );
      const d = await describeGroup(ctx, group, true);
      if (d.members.length > 0 && !ctx.has("--dry-run")) {
        throw new KafkaError(
          "NON_EMPTY_GROUP",
          `group ${group} has ${d.members.length} active member(s) (state ${d.state})`,
          "stop its consumers first, or look with --dry-run",
        );
      }
      let specs = ctx.all("--topic").map((s) => {
        const [t, ps] = s.split(":");
        return { topic: t, partitions: ps ? ps.split(",").map(Number) : null };
      });
      if (ctx.has("--all-topics")) {
        specs = [...(await committedOffsets(ctx, d.coordinator, group)).keys()].map((topic) => ({
          topic,
          partitions: null,
        }));
      }
      if (specs.length === 0) throw new UsageError("give --topic TOPIC (repeatable) or --all-topics");
      const current = await committedOffsets(ctx, d.coordinator, group);
      const rows: Record<string, unknown>[] = [];
      const commits: { name: string; partitions: { partitionIndex: number; committedOffset: bigint }[] }[] = [];
      for (const s of specs) {
        const meta = await ctx.client.topic(s.topic);
        const ps = s.partitions ?? meta.partitions.map((p) => p.partition);
        const [start, end] = await Promise.all([
          listOffsets(ctx.client, meta, ps, EARLIEST),
          listOffsets(ctx.client, meta, ps, LATEST),
        ]);
        let target: Map<number, bigint>;
        if (to.kind === "earliest") target = start;
        else if (to.kind === "latest") target = end;
        else if (to.kind === "offset") {
          target = new Map(
            ps.map((
              p,
            ) => [p, to.offset < start.get(p)! ? start.get(p)! : to.offset > end.get(p)! ? end.get(p)! : to.offset]),
          );
        } else if (to.kind === "time") {
          const byTime = await listOffsets(ctx.client, meta, ps, to.ms);
          target = new Map(ps.map((p) => [p, byTime.get(p)! < 0n ? end.get(p)! : byTime.get(p)!]));
        } else {
          target = end;
        }
        const parts = ps.map((p) => ({ partitionIndex: p, committedOffset: target.get(p)! }));
        commits.push({ name: s.topic, partitions: parts });
        for (const p of ps) {
          rows.push({
            topic: s.topic,
            partition: p,
            currentOffset: current.get(s.topic)?.get(p) ?? null,
            newOffset: target.get(p)!,
          });
        }
      }
      if (!ctx.has("--dry-run")) {
        const r = await d.coordinator.request(OffsetCommit, {
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: "",
          groupInstanceId: null,
          retentionTimeMs: -1n,
          topics: commits.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              ...p,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: "",
            })),
          })),
        }, 9);
        for (const t of r.topics ?? []) {
          for (const p of t.partitions ?? []) {
            check(p.errorCode ?? 0, null, `committing ${t.name}-${p.partitionIndex}`);
          }
        }
      }
      ctx.table(rows, ["topic", "partition", "currentOffset", "newOffset"], {
        group,
        dryRun: ctx.has("--dry-run"),
        offsets: rows,
      });
      if (ctx.has("--dry-run") && !ctx.json) ctx.note("dry run: nothing was changed");
    },
  },
  "group delete": {
    summary: "delete groups (they must be empty)",
    usage: "GROUP...",
    async run(ctx) {
      const groups = ctx.opts.positional;
      if (groups.length === 0) throw new UsageError("missing group id");
      const rows = [];
      for (const g of groups) {
        const c = await ctx.client.coordinator(g, 0);
        const r = await c.request(DeleteGroups, { groupsNames: [g] });
        const res = r.results?.[0];
        check(res?.errorCode ?? 0, null, `deleting group ${g}`);
        rows.push({ group: g, status: "deleted" });
      }
      ctx.table(rows, ["group", "status"]);
    },
  },
};
