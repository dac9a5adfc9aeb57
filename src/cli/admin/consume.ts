// chronik consume TOPIC: read records from chosen offsets or timestamps, print them with a
// kcat-style format (-f) or as JSON lines, stop at the end (default), after -n records, at --to,
// or follow (-F) until interrupted. Reads partitions directly, or as a member of a consumer group
// (-G, committing what it read).
import type { TopicMeta } from "../../client/client.ts";
import { check } from "../../client/errors.ts";
import { EARLIEST, LATEST, listOffsets } from "../../client/offsets.ts";
import { ZERO_UUID } from "../../protocol/codec.ts";
import { Fetch } from "../../protocol/messages/01_fetch.ts";
import type { DecodedRecord } from "../../protocol/record_batch.ts";
import { BATCH_HEADER_SIZE, batchSize, decodeRecords } from "../../protocol/record_batch.ts";
import { concatChunks } from "../../protocol/writer.ts";
import { UsageError } from "../start_config.ts";
import type { Command } from "./command.ts";
import type { Ctx } from "./context.ts";
import { GroupMember } from "../../client/group_member.ts";
import { committedOffsets } from "./group.ts";
import { Progress } from "./progress.ts";

export type OffsetSpec =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "offset"; offset: bigint }
  | { kind: "fromEnd"; count: bigint }
  | { kind: "timestamp"; ms: bigint };

/** beginning|earliest, end|latest, N, -N (N before the end), @<ms since epoch or ISO-8601 time>. */
export function parseOffsetSpec(s: string, what = "--offset"): OffsetSpec {
  if (s === "beginning" || s === "earliest") return { kind: "earliest" };
  if (s === "end" || s === "latest") return { kind: "latest" };
  if (/^\d+$/.test(s)) return { kind: "offset", offset: BigInt(s) };
  if (/^-\d+$/.test(s)) return { kind: "fromEnd", count: -BigInt(s) };
  if (s.startsWith("@")) return { kind: "timestamp", ms: parseTime(s.slice(1), what) };
  throw new UsageError(`${what} must be beginning, end, N, -N or @time, got "${s}"`);
}

/** Milliseconds since the epoch, or an ISO-8601 date/time. */
export function parseTime(s: string, what: string): bigint {
  if (/^\d+$/.test(s)) return BigInt(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new UsageError(`${what}: "${s}" is neither milliseconds nor an ISO-8601 time`);
  return BigInt(t);
}

/** Start offsets per partition for a spec. */
export async function resolveOffsets(
  ctx: Ctx,
  topic: TopicMeta,
  partitions: number[],
  spec: OffsetSpec,
): Promise<Map<number, bigint>> {
  const client = ctx.client;
  switch (spec.kind) {
    case "earliest":
      return listOffsets(client, topic, partitions, EARLIEST);
    case "latest":
      return listOffsets(client, topic, partitions, LATEST);
    case "offset":
      return new Map(partitions.map((p) => [p, spec.offset]));
    case "fromEnd": {
      const [start, end] = await Promise.all([
        listOffsets(client, topic, partitions, EARLIEST),
        listOffsets(client, topic, partitions, LATEST),
      ]);
      return new Map(partitions.map((p) => {
        const e = end.get(p)!;
        const s = start.get(p)!;
        return [p, e - spec.count < s ? s : e - spec.count];
      }));
    }
    case "timestamp": {
      const [byTime, end] = await Promise.all([
        listOffsets(client, topic, partitions, spec.ms),
        listOffsets(client, topic, partitions, LATEST),
      ]);
      // No record at or after the time: start at the end.
      return new Map(partitions.map((p) => [p, byTime.get(p)! < 0n ? end.get(p)! : byTime.get(p)!]));
    }
  }
}

const dec = new TextDecoder();

function text(b: Uint8Array | null): string {
  return b === null ? "" : dec.decode(b);
}

/** kcat's format tokens: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp, %h headers, %K/%S key/value length. */
export function formatRecord(fmt: string, topic: string, partition: number, r: DecodedRecord): string {
  return fmt.replace(/%[tpokvThKS%]|\\[ntr\\]/g, (tok) => {
    switch (tok) {
      case "%t":
        return topic;
      case "%p":
        return String(partition);
      case "%o":
        return r.offset.toString();
      case "%k":
        return text(r.key);
      case "%v":
        return text(r.value);
      case "%T":
        return r.timestamp.toString();
      case "%h":
        return r.headers.map((h) => `${h.key}=${text(h.value)}`).join(",");
      case "%K":
        return String(r.key === null ? -1 : r.key.length);
      case "%S":
        return String(r.value === null ? -1 : r.value.length);
      case "%%":
        return "%";
      case "\\n":
        return "\n";
      case "\\t":
        return "\t";
      case "\\r":
        return "\r";
      default:
        return "\\";
    }
  });
}

export function recordJson(topic: string, partition: number, r: DecodedRecord): string {
  return JSON.stringify({
    topic,
    partition,
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    key: r.key === null ? null : text(r.key),
    value: r.value === null ? null : text(r.value),
    headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? null : text(h.value)])),
  });
}

export const CONSUME_COMMANDS: Record<string, Command> = {
  "consume": {
    summary: "read records (kcat-like formats, JSON lines, follow)",
    usage:
      "TOPIC [-p PARTITION]... [-G GROUP] [-o beginning|end|N|-N|@time] [--to N|@time] [-n COUNT] [-F] [-f FORMAT] [--format json] [--isolation read_committed]",
    options: {
      "--partition": "multi",
      "--offset": "value",
      "--to": "value",
      "--count": "value",
      "--follow": "flag",
      "--fmt": "value",
      "--isolation": "value",
      "--quiet": "flag",
      "--exit-at-end": "flag",
      "--group": "value",
    },
    aliases: {
      "-p": "--partition",
      "-o": "--offset",
      "-n": "--count",
      "-F": "--follow",
      "-f": "--fmt",
      "-q": "--quiet",
      "-e": "--exit-at-end",
      "-G": "--group",
    },
    async run(ctx) {
      const topicName = ctx.arg(0, "topic name");
      const topic = await ctx.client.topic(topicName);
      const all = topic.partitions.map((p) => p.partition);
      const chosen = ctx.all("--partition").map((p) => {
        if (!/^\d+$/.test(p) || !all.includes(Number(p))) throw new UsageError(`no partition ${p} in ${topicName}`);
        return Number(p);
      });
      let partitions = chosen.length ? chosen : all;
      const spec = parseOffsetSpec(ctx.get("--offset") ?? "beginning");
      // -G: a member of a consumer group; partitions come from the group, positions from its
      // committed offsets (else --offset), and what was read is committed as it goes.
      const groupId = ctx.get("--group");
      if (groupId !== undefined && chosen.length > 0) throw new UsageError("-G and -p do not mix: the group assigns");
      const member = groupId === undefined ? null : new GroupMember(ctx.client, groupId, topicName, all);
      let offsets = new Map<number, bigint>();
      const position = async (ps: number[]) => {
        const start = ps.length ? await resolveOffsets(ctx, topic, ps, spec) : new Map<number, bigint>();
        if (member) {
          const committed = (await committedOffsets(ctx, await ctx.client.coordinator(member.group, 0), member.group))
            .get(topicName);
          for (const p of ps) if (committed?.has(p)) start.set(p, committed.get(p)!);
        }
        return start;
      };
      if (member) partitions = await member.join();
      offsets = await position(partitions);
      const toRaw = ctx.get("--to");
      let stopAt: Map<number, bigint> | null = null;
      let stopTime: bigint | null = null;
      if (toRaw !== undefined) {
        const to = parseOffsetSpec(toRaw, "--to");
        if (to.kind === "timestamp") stopTime = to.ms;
        else stopAt = await resolveOffsets(ctx, topic, partitions, to);
      }
      const limit = ctx.get("--count") === undefined ? Infinity : ctx.int("--count");
      const follow = ctx.has("--follow");
      const isolation = ctx.get("--isolation") ?? "read_uncommitted";
      if (isolation !== "read_uncommitted" && isolation !== "read_committed") {
        throw new UsageError("--isolation must be read_uncommitted or read_committed");
      }
      const fmt = ctx.get("--fmt") ?? "%v\\n";
      const done = new Set<number>();
      let seen = 0;
      let bytes = 0;
      const progress = new Progress(ctx, "consumed", !ctx.has("--quiet"));
      const out = (s: string) => (ctx.host.write ? ctx.host.write(new TextEncoder().encode(s)) : ctx.print(s));
      for (const p of partitions) if (stopAt && offsets.get(p)! >= stopAt.get(p)!) done.add(p);
      try {
        while (seen < limit && (done.size < partitions.length || (member !== null && follow))) {
          if (member?.rejoinNeeded) {
            await member.commit(new Map(partitions.map((p) => [p, offsets.get(p)!])));
            partitions = await member.join();
            offsets = await position(partitions);
            done.clear();
            if (stopAt) stopAt = await resolveOffsets(ctx, topic, all, parseOffsetSpec(toRaw!, "--to"));
          }
          if (partitions.length === 0) {
            // More members than partitions: wait for a rebalance.
            await new Promise((res) => setTimeout(res, 500));
            continue;
          }
          const byLeader = new Map<number, number[]>();
          for (const p of partitions) {
            if (done.has(p)) continue;
            const l = topic.partitions.find((x) => x.partition === p)!.leader;
            (byLeader.get(l) ?? byLeader.set(l, []).get(l)!).push(p);
          }
          let progressed = false;
          for (const [leader, ps] of byLeader) {
            const c = await ctx.client.broker(leader);
            const r = await c.request(Fetch, {
              clusterId: null,
              replicaId: -1,
              replicaState: { replicaId: -1, replicaEpoch: -1n },
              maxWaitMs: follow ? 1000 : 200,
              minBytes: 1,
              maxBytes: 16 << 20,
              isolationLevel: isolation === "read_committed" ? 1 : 0,
              sessionId: 0,
              sessionEpoch: -1,
              topics: [{
                topic: topicName,
                topicId: topic.topicId,
                partitions: ps.map((p) => ({
                  partition: p,
                  currentLeaderEpoch: -1,
                  fetchOffset: offsets.get(p)!,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1n,
                  partitionMaxBytes: 4 << 20,
                  replicaDirectoryId: ZERO_UUID,
                })),
              }],
              forgottenTopicsData: [],
              rackId: "",
            }, 12);
            check(r.errorCode ?? 0, null, "fetching");
            for (const pd of r.responses?.[0]?.partitions ?? []) {
              const p = pd.partitionIndex ?? 0;
              check(pd.errorCode ?? 0, null, `fetching ${topicName}-${p}`);
              const hw = isolation === "read_committed"
                ? pd.lastStableOffset ?? pd.highWatermark ?? 0n
                : pd.highWatermark ?? 0n;
              const aborted = (pd.abortedTransactions ?? []).map((a) => ({
                pid: a.producerId ?? -1n,
                first: a.firstOffset ?? 0n,
              }));
              const raw = pd.records;
              const data = raw === null || raw === undefined
                ? new Uint8Array(0)
                : Array.isArray(raw)
                ? concatChunks(raw)
                : raw as Uint8Array;
              let pos = 0;
              while (pos + BATCH_HEADER_SIZE <= data.length && seen < limit && !done.has(p)) {
                const size = batchSize(data, pos);
                if (pos + size > data.length) break; // a partial batch at the end of the response
                const batch = decodeRecords(data.subarray(pos, pos + size));
                pos += size;
                const next = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
                const skip = batch.isControl ||
                  (isolation === "read_committed" && batch.isTransactional &&
                    aborted.some((a) => a.pid === batch.producerId && a.first <= batch.baseOffset));
                if (!skip) {
                  for (const rec of batch.records) {
                    if (rec.offset < offsets.get(p)!) continue;
                    if (stopAt && rec.offset >= stopAt.get(p)!) {
                      done.add(p);
                      break;
                    }
                    if (stopTime !== null && rec.timestamp >= stopTime) {
                      done.add(p);
                      break;
                    }
                    await out(ctx.json ? recordJson(topicName, p, rec) + "\n" : formatRecord(fmt, topicName, p, rec));
                    seen++;
                    bytes += (rec.key?.length ?? 0) + (rec.value?.length ?? 0);
                    offsets.set(p, rec.offset + 1n);
                    if (seen >= limit) break;
                  }
                }
                if (!done.has(p) && seen < limit && offsets.get(p)! < next) offsets.set(p, next);
                progressed = true;
              }
              if (stopAt && offsets.get(p)! >= stopAt.get(p)!) done.add(p);
              if (!follow && offsets.get(p)! >= hw) done.add(p);
            }
          }
          progress.update(seen, bytes);
          if (member && progressed) await member.commit(new Map(partitions.map((p) => [p, offsets.get(p)!])));
          if (!progressed && !follow && done.size < partitions.length) {
            // Nothing returned below the high watermark (a gap from compaction or a trimmed log).
            await new Promise((res) => setTimeout(res, 50));
          }
        }
      } finally {
        if (member) {
          await member.commit(new Map(partitions.map((p) => [p, offsets.get(p)!]))).catch(() => {});
          await member.leave();
        }
      }
      progress.done(seen, bytes);
    },
  },
};
