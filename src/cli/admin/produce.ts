// chronik produce TOPIC: records from stdin, a file or --value, one per line (or per -D
// delimiter), kcat-style keys (-K delimiter or -k), headers (-H), partition (-p, else murmur2 of
// the key like Kafka's default partitioner, else round-robin batches).
import { check } from "../../client/errors.ts";
import { partitionForKey } from "../../http/murmur2.ts";
import { CODEC_NAMES } from "../../protocol/compression/index.ts";
import { Produce } from "../../protocol/messages/00_produce.ts";
import type { RecordInput } from "../../protocol/record_batch.ts";
import { buildRecordBatch } from "../../protocol/record_batch.ts";
import { UsageError } from "../start_config.ts";
import type { Command } from "./command.ts";
import type { Ctx } from "./context.ts";
import { keyValue } from "./context.ts";
import { Progress } from "./progress.ts";

const BATCH_RECORDS = 1000;
const BATCH_BYTES = 512 * 1024;

/** Splits a byte stream at `delim`, yielding each piece (the last one even without a trailing delimiter, if not empty). */
export async function* splitStream(chunks: AsyncIterable<Uint8Array>, delim: Uint8Array): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(0);
  for await (const chunk of chunks) {
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    let start = 0;
    for (let i = indexOf(joined, delim, 0); i >= 0; i = indexOf(joined, delim, start)) {
      yield joined.slice(start, i);
      start = i + delim.length;
    }
    buf = joined.slice(start);
  }
  if (buf.length > 0) yield buf;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  if (needle.length === 1) return hay.indexOf(needle[0], from);
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * One JSON record, as `consume --format json` prints them: {"key","value","headers","partition","timestamp"}
 * (all optional; key/value strings or null, headers an object of strings).
 */
export function parseJsonRecord(line: Uint8Array, lineNo: number, partitions: number) {
  const enc = new TextEncoder();
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder().decode(line));
  } catch (e) {
    throw new UsageError(`line ${lineNo}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new UsageError(`line ${lineNo}: not a JSON object`);
  }
  const r = o as Record<string, unknown>;
  const bytes = (v: unknown, what: string): Uint8Array | null => {
    if (v === undefined || v === null) return null;
    if (typeof v === "string") return enc.encode(v);
    return enc.encode(JSON.stringify(v)); // a JSON value is stored as its text
  };
  const headers: { key: string; value: Uint8Array | null }[] = [];
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== "object" || Array.isArray(r.headers)) {
      throw new UsageError(`line ${lineNo}: headers must be an object`);
    }
    for (const [k, v] of Object.entries(r.headers as Record<string, unknown>)) {
      headers.push({ key: k, value: bytes(v, k) });
    }
  }
  let partition: number | null = null;
  if (r.partition !== undefined && r.partition !== null) {
    if (!Number.isInteger(r.partition) || (r.partition as number) < 0 || (r.partition as number) >= partitions) {
      throw new UsageError(`line ${lineNo}: no partition ${String(r.partition)} (the topic has ${partitions})`);
    }
    partition = r.partition as number;
  }
  const timestamp = typeof r.timestamp === "number" && Number.isInteger(r.timestamp) ? r.timestamp : undefined;
  return { key: bytes(r.key, "key"), value: bytes(r.value, "value"), headers, partition, timestamp };
}

/** `\n`, `\t`, `\0` and `\\` escapes in a delimiter argument. */
export function unescapeDelimiter(s: string): Uint8Array {
  const text = s.replace(/\\(n|t|r|0|\\)/g, (_, c) => ({ n: "\n", t: "\t", r: "\r", "0": "\0", "\\": "\\" })[c as "n"]);
  if (text === "") throw new UsageError("a delimiter must not be empty");
  return new TextEncoder().encode(text);
}

async function* inputOf(ctx: Ctx, progress: Progress): AsyncGenerator<Uint8Array> {
  const values = ctx.all("--value");
  const delim = unescapeDelimiter(ctx.get("--delimiter") ?? "\\n");
  if (values.length > 0) {
    for (const v of values) yield new TextEncoder().encode(v);
    return;
  }
  const file = ctx.get("--file");
  if (file !== undefined && file !== "-") {
    const data = await ctx.runtime.fs.readFile(file);
    if (data === null) throw new UsageError(`--file ${file}: no such file`);
    progress.total = data.length;
    yield* splitStream(
      (async function* () {
        yield data;
      })(),
      delim,
    );
    return;
  }
  if (!ctx.host.stdin) throw new UsageError("no standard input here: give --value or --file");
  yield* splitStream(ctx.host.stdin(), delim);
}

export const PRODUCE_COMMANDS: Record<string, Command> = {
  "produce": {
    summary: "write records (stdin, --file or --value), one per line",
    usage:
      "TOPIC [-k KEY | -K KEY_DELIMITER] [-H name=value]... [-p PARTITION] [-D DELIMITER] [--file F] [--value V]... [--acks -1|0|1] [--compression none|gzip|snappy|lz4|zstd] [-J: lines are JSON records as consume --format json prints them]",
    options: {
      "--key": "value",
      "--key-delimiter": "value",
      "--header": "multi",
      "--partition": "value",
      "--delimiter": "value",
      "--file": "value",
      "--value": "multi",
      "--acks": "value",
      "--compression": "value",
      "--quiet": "flag",
      "--json-input": "flag",
    },
    aliases: {
      "-J": "--json-input",
      "-k": "--key",
      "-K": "--key-delimiter",
      "-H": "--header",
      "-p": "--partition",
      "-D": "--delimiter",
      "-f": "--file",
      "-v": "--value",
      "-q": "--quiet",
    },
    async run(ctx) {
      const topicName = ctx.arg(0, "topic name");
      const enc = new TextEncoder();
      const headers = ctx.all("--header").map((h) => {
        const [key, value] = keyValue(h, "--header");
        return { key, value: enc.encode(value) };
      });
      const fixedKey = ctx.get("--key");
      const keyDelim = ctx.get("--key-delimiter");
      const keyDelimBytes = keyDelim === undefined ? null : unescapeDelimiter(keyDelim);
      const acks = ctx.int("--acks", -1);
      if (![-1, 0, 1].includes(acks)) throw new UsageError("--acks must be -1, 0 or 1");
      const codecName = ctx.get("--compression") ?? "none";
      const codec = (CODEC_NAMES as readonly string[]).indexOf(codecName);
      if (codec < 0) throw new UsageError(`--compression must be one of ${CODEC_NAMES.join(", ")}`);
      const topic = await ctx.client.topic(topicName, true);
      const count = topic.partitions.length;
      const fixedPartition = ctx.get("--partition") === undefined ? null : ctx.int("--partition");
      if (fixedPartition !== null && (fixedPartition < 0 || fixedPartition >= count)) {
        throw new UsageError(`no partition ${fixedPartition} (the topic has ${count})`);
      }
      const pending = new Map<number, { records: RecordInput[]; bytes: number }>();
      const result = new Map<number, { first: bigint; last: bigint; records: number }>();
      let roundRobin = 0;
      let total = 0;
      let totalBytes = 0;
      const progress = new Progress(ctx, "produced", !ctx.has("--quiet"));
      const flush = async (partition: number) => {
        const p = pending.get(partition);
        if (!p || p.records.length === 0) return;
        pending.delete(partition);
        const leader = topic.partitions.find((x) => x.partition === partition)!.leader;
        const c = await ctx.client.broker(leader);
        const batch = buildRecordBatch({ records: p.records, codec });
        const body = {
          transactionalId: null,
          acks,
          timeoutMs: 30000,
          topicData: [{ name: topicName, partitionData: [{ index: partition, records: batch }] }],
        };
        if (acks === 0) {
          // No response comes back for acks=0: send it as any other and do not wait.
          c.send(Produce, c.version(Produce as never, 9), body).catch(() => {});
          return;
        }
        const r = await c.request(Produce, body, 9);
        const pr = r.responses?.[0]?.partitionResponses?.[0];
        check(pr?.errorCode ?? 0, pr?.errorMessage, `producing to ${topicName}-${partition}`);
        const base = pr?.baseOffset ?? -1n;
        const prev = result.get(partition);
        const last = base + BigInt(p.records.length - 1);
        result.set(partition, {
          first: prev?.first ?? base,
          last,
          records: (prev?.records ?? 0) + p.records.length,
        });
      };
      const json = ctx.has("--json-input");
      let lineNo = 0;
      for await (const line of inputOf(ctx, progress)) {
        lineNo++;
        let key: Uint8Array | null = fixedKey === undefined ? null : enc.encode(fixedKey);
        let value: Uint8Array | null = line;
        let recordHeaders: { key: string; value: Uint8Array | null }[] = headers;
        let jsonPartition: number | null = null;
        let timestamp: number | undefined;
        if (json) {
          if (line.length === 0) continue;
          const r = parseJsonRecord(line, lineNo, count);
          key = r.key ?? key;
          value = r.value;
          recordHeaders = [...headers, ...r.headers];
          jsonPartition = r.partition;
          timestamp = r.timestamp;
        } else if (keyDelimBytes) {
          const i = indexOf(line, keyDelimBytes, 0);
          if (i >= 0) {
            key = line.slice(0, i);
            value = line.slice(i + keyDelimBytes.length);
          }
        }
        // kcat's convention: an empty value is a tombstone (null) only with -Z; here empty stays empty.
        const partition = fixedPartition ?? jsonPartition ??
          (key !== null ? partitionForKey(key, count) : roundRobin % count);
        const p = pending.get(partition) ?? pending.set(partition, { records: [], bytes: 0 }).get(partition)!;
        p.records.push({ key, value, headers: recordHeaders, ...(timestamp !== undefined ? { timestamp } : {}) });
        p.bytes += (key?.length ?? 0) + (value?.length ?? 0);
        total++;
        totalBytes += (key?.length ?? 0) + (value?.length ?? 0);
        if (p.records.length >= BATCH_RECORDS || p.bytes >= BATCH_BYTES) {
          await flush(partition);
          if (fixedPartition === null && key === null) roundRobin++;
        }
        progress.update(total, totalBytes);
      }
      for (const p of [...pending.keys()]) await flush(p);
      progress.done(total, totalBytes);
      const rows = [...result].sort((a, b) => a[0] - b[0]).map(([partition, r]) => ({
        partition,
        records: r.records,
        firstOffset: r.first,
        lastOffset: r.last,
      }));
      if (ctx.json) ctx.printJson({ topic: topicName, records: total, bytes: totalBytes, partitions: rows });
      else if (!ctx.has("--quiet")) {
        ctx.note(
          `${total} record(s) to ${topicName}` +
            (rows.length ? `: ${rows.map((r) => `${r.partition}@${r.firstOffset}..${r.lastOffset}`).join(" ")}` : ""),
        );
      }
    },
  },
};
