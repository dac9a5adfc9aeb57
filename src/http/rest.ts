// The REST produce/consume proxy: records in and out as JSON over HTTP, for clients without a Kafka
// library. It works on the broker's own services, as Produce and Fetch do: batches are built with
// buildRecordBatch, checked against the topic's max.message.bytes, compression.type and
// message.timestamp.type, appended through the partition log (durably with ?acks=all under
// chronik.fsync.acks.all) and read back with the partition log's read, the producer state's last
// stable offset and aborted ranges (read_committed) and its onAppend (long polls).
// Shapes follow Confluent's REST Proxy v2 where they fit: embedded formats (json: values as JSON
// text; binary: base64; string: UTF-8), {"offsets":[{partition, offset, error_code, error}]} and
// errors as {"error_code": <status>NN, "message"} (plus "error", Kafka's error name).
// Requests act as the principal security.ts authenticated (User:ANONYMOUS without SASL listeners),
// from the client's address, under the broker's authorizer.
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { httpAllowed, type HttpEnv } from "./security.ts";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { prepareCompression } from "../protocol/compression/index.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { DecodedRecord, RecordInput } from "../protocol/record_batch.ts";
import {
  batchBaseOffsetNumber,
  batchIsControl,
  batchIsTransactional,
  batchLastOffsetDelta,
  batchProducerId,
  buildRecordBatch,
  decodeRecords,
  isBatchError,
  RecordBatchError,
  scanBatches,
  validateRecords,
} from "../protocol/record_batch.ts";
import { AclOperation, CLUSTER_NAME, ResourceType } from "../broker/auth/acl.ts";
import type { Services } from "../broker/services.ts";
import { recordCheckOptions } from "../broker/record_checks.ts";
import { waitForAppend } from "../broker/append_wait.ts";
import { createTopic } from "../broker/topic_admin.ts";
import type { Topic } from "../broker/topics.ts";
import { producerStateOf } from "../broker/txn/coordinator.ts";
import { targetCodec } from "../storage/recompress.ts";
import type { PartitionLog } from "../storage/store.ts";
import { base64ToBytes, bytesToBase64 } from "./base64.ts";
import { defaultPartition } from "./murmur2.ts";

const ZSTD = 4;
const DEFAULT_MAX_BYTES = 1 << 20;
const MAX_MAX_BYTES = 64 << 20;
const MAX_TIMEOUT_MS = 300_000;
/** Request bodies above this are refused before they are read whole (base64 and JSON escapes inflate records). */
const MAX_BODY_BYTES = 64 << 20;
/** Records one REST produce call may carry (issue #14.7: one call must not hold the broker for seconds). */
const MAX_RECORDS = 10_000;
const LSO_RECHECK_MS = 20;

type Format = "json" | "binary" | "string";
const FORMATS: readonly string[] = ["json", "binary", "string"];

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });
const utf8Loose = new TextDecoder("utf-8");

/** A Confluent-style error body; `name` is Kafka's error name when there is one. */
export function restError(
  c: Context,
  status: number,
  sub: number,
  message: string,
  name?: string,
  extra: Record<string, unknown> = {},
): Response {
  return c.json(
    { error_code: status * 100 + sub, message, ...(name ? { error: name } : {}), ...extra },
    status as ContentfulStatusCode,
  );
}

const topicNotFound = (c: Context) => restError(c, 404, 1, "Topic not found.", "UNKNOWN_TOPIC_OR_PARTITION");
/**
 * As Kafka: authorization is decided on the name before existence, so a principal that may not
 * describe a topic learns nothing of whether it exists (TOPIC_AUTHORIZATION_FAILED either way).
 */
export const topicDenied = (c: Context, name: string) =>
  restError(c, 403, 1, `Not authorized to access topics: [${name}]`, "TOPIC_AUTHORIZATION_FAILED");
const partitionNotFound = (c: Context) => restError(c, 404, 2, "Partition not found.", "UNKNOWN_TOPIC_OR_PARTITION");

class Invalid extends Error {}

function fromBase64(s: string, what: string): Uint8Array {
  try {
    return base64ToBytes(s);
  } catch {
    throw new Invalid(`${what} is not valid base64`);
  }
}

/** A key or value from the request in the embedded format; undefined and null are Kafka's null. */
function encodeData(v: unknown, format: Format, what: string): Uint8Array | null {
  if (v === undefined || v === null) return null;
  if (format === "json") return utf8.encode(JSON.stringify(v));
  if (typeof v !== "string") throw new Invalid(`${what} must be a string in the ${format} format`);
  return format === "binary" ? fromBase64(v, what) : utf8.encode(v);
}

function decodeData(b: Uint8Array | null, format: Format, what: string): unknown {
  if (b === null) return null;
  if (format === "binary") return bytesToBase64(b);
  if (format === "string") return utf8Loose.decode(b);
  try {
    return JSON.parse(utf8Strict.decode(b));
  } catch {
    throw new Invalid(`${what} is not JSON; read it with format=binary or format=string`);
  }
}

function headersIn(h: unknown, format: Format, what: string): { key: string; value: Uint8Array | null }[] {
  if (h === undefined || h === null) return [];
  if (typeof h !== "object" || Array.isArray(h)) {
    throw new Invalid(`${what} must be an object of header names to values`);
  }
  return Object.entries(h as Record<string, unknown>).map(([key, v]) => {
    if (v !== null && typeof v !== "string") throw new Invalid(`${what}.${key} must be a string or null`);
    return {
      key,
      value: v === null ? null : format === "binary" ? fromBase64(v, `${what}.${key}`) : utf8.encode(v),
    };
  });
}

function headersOut(hs: { key: string; value: Uint8Array | null }[], format: Format): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const h of hs) {
    out[h.key] = h.value === null ? null : format === "binary" ? bytesToBase64(h.value) : utf8Loose.decode(h.value);
  }
  return out;
}

function intParam(raw: string | undefined, name: string, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return dflt;
  if (!/^-?\d+$/.test(raw)) throw new Invalid(`${name} must be an integer`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Invalid(`${name} must be between ${min} and ${max}`);
  return n;
}

export type PendingRecord = { index: number; partition: number; input: RecordInput };

export function restRoutes(app: Hono<HttpEnv>, svc: Services): void {
  const roundRobin = new Map<string, number>();

  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => restError(c, 413, 2, `Request body over ${MAX_BODY_BYTES} bytes`),
  });
  app.post("/v1/topics/:topic/records", limit, async (c) => {
    const name = c.req.param("topic");
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch (e) {
      return restError(c, 400, 1, `Bad JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const acksRaw = c.req.query("acks") ?? "1";
    if (!["all", "-1", "1"].includes(acksRaw)) {
      return restError(c, 422, 1, "acks must be all, -1 or 1", "INVALID_REQUIRED_ACKS");
    }
    const acksAll = acksRaw !== "1";
    if (!httpAllowed(svc, c, AclOperation.WRITE, ResourceType.TOPIC, name)) return topicDenied(c, name);

    const topic = await produceTopic(svc, c, name);
    if ("errorCode" in topic) return restError(c, topic.status, topic.errorCode % 100, topic.message, topic.error);

    // Validate everything before anything is appended.
    let pending: PendingRecord[];
    try {
      pending = parseRecords(body, topic, roundRobin);
    } catch (e) {
      if (e instanceof RangeError) return partitionNotFound(c);
      if (e instanceof Invalid) return restError(c, 422, 1, e.message);
      throw e;
    }

    const offsets = await appendRecords(svc, topic, pending, acksAll);
    const tooLarge = offsets.find((o) => o.error_code === ErrorCode.MESSAGE_TOO_LARGE);
    if (tooLarge) return restError(c, 413, 1, tooLarge.error!, "MESSAGE_TOO_LARGE");
    return c.json({ key_schema_id: null, value_schema_id: null, offsets });
  });

  app.get("/v1/topics/:topic/partitions", (c) => {
    const name = c.req.param("topic");
    if (!httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return topicDenied(c, name);
    const t = svc.topics.get(name);
    if (!t) return topicNotFound(c);
    return c.json(t.partitions.map((p, i) => partitionView(p, i)));
  });

  app.get("/v1/topics/:topic/partitions/:partition", (c) => {
    const name = c.req.param("topic");
    if (!httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return topicDenied(c, name);
    const t = svc.topics.get(name);
    if (!t) return topicNotFound(c);
    const log = partitionOf(t, c.req.param("partition"));
    return log ? c.json(partitionView(log, log.partition)) : partitionNotFound(c);
  });

  app.get("/v1/topics/:topic/partitions/:partition/records", async (c) => {
    const name = c.req.param("topic");
    if (!httpAllowed(svc, c, AclOperation.READ, ResourceType.TOPIC, name)) return topicDenied(c, name);
    const t = svc.topics.get(name);
    if (!t) return topicNotFound(c);
    const log = partitionOf(t, c.req.param("partition"));
    if (!log) return partitionNotFound(c);
    let from: number, maxBytes: number, timeoutMs: number;
    const format = c.req.query("format") ?? "json";
    const isolation = c.req.query("isolation") ?? "read_uncommitted";
    try {
      if (!FORMATS.includes(format)) throw new Invalid("format must be json, binary or string");
      if (isolation !== "read_uncommitted" && isolation !== "read_committed") {
        throw new Invalid("isolation must be read_uncommitted or read_committed");
      }
      from = intParam(c.req.query("offset"), "offset", log.logStartOffset, 0, Number.MAX_SAFE_INTEGER);
      maxBytes = intParam(c.req.query("max_bytes"), "max_bytes", DEFAULT_MAX_BYTES, 1, MAX_MAX_BYTES);
      timeoutMs = intParam(c.req.query("timeout_ms"), "timeout_ms", 0, 0, MAX_TIMEOUT_MS);
    } catch (e) {
      if (e instanceof Invalid) return restError(c, 422, 1, e.message);
      throw e;
    }
    if (from < log.logStartOffset || from > log.logEndOffset) {
      return restError(
        c,
        416,
        1,
        `Offset ${from} is out of range for ${name}-${log.partition}: [${log.logStartOffset}, ${log.logEndOffset}]`,
        "OFFSET_OUT_OF_RANGE",
        { log_start_offset: log.logStartOffset, log_end_offset: log.logEndOffset },
      );
    }
    const readCommitted = isolation === "read_committed";
    const deadline = svc.now() + timeoutMs;
    let out: ReadOut;
    try {
      out = await readRecords(log, from, maxBytes, readCommitted, format as Format);
      while (out.records.length === 0 && svc.now() < deadline) {
        // Records held back by an open transaction become readable when the producer state takes
        // the marker, just after its append: look again shortly rather than wait for another append.
        const heldBack = readCommitted && out.nextOffset < log.logEndOffset;
        const left = deadline - svc.now();
        const woke = await waitForAppend(svc, [log], heldBack ? Math.min(left, LSO_RECHECK_MS) : left);
        if (woke === "closing" || (woke === "timeout" && !heldBack)) break;
        if (!svc.topics.get(name)) return topicNotFound(c);
        out = await readRecords(log, out.nextOffset, maxBytes, readCommitted, format as Format);
      }
    } catch (e) {
      if (e instanceof Invalid) return restError(c, 422, 3, e.message);
      if (e instanceof RecordBatchError) return restError(c, 500, 2, e.message, e.code);
      throw e;
    }
    return c.json({
      topic: name,
      partition: log.partition,
      records: out.records.map((r) => ({ topic: name, partition: log.partition, ...r })),
      next_offset: out.nextOffset,
      high_watermark: log.logEndOffset,
      last_stable_offset: producerStateOf(log).lastStableOffset(log.logEndOffset),
      log_start_offset: log.logStartOffset,
    });
  });
}

/**
 * The topic a produce names, auto-created per auto.create.topics.enable when the principal may
 * (CREATE on the cluster or the topic); a TopicRefusal otherwise (internal topics are not found).
 */
export async function produceTopic(svc: Services, c: Context, name: string): Promise<Topic | TopicRefusal> {
  let topic = svc.topics.get(name);
  if (!topic && svc.config["auto.create.topics.enable"]) {
    if (
      !httpAllowed(svc, c, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME) &&
      !httpAllowed(svc, c, AclOperation.CREATE, ResourceType.TOPIC, name)
    ) {
      return refusal(403, 1, `Not authorized to create topic ${name}`, "TOPIC_AUTHORIZATION_FAILED");
    }
    const out = await createTopic(svc, {
      name,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [],
      configs: [],
    }, false);
    topic = out.topic ?? svc.topics.get(name);
    if (!topic && out.errorCode === ErrorCode.INVALID_TOPIC_EXCEPTION) {
      return refusal(422, 2, out.errorMessage ?? "Invalid topic name", "INVALID_TOPIC_EXCEPTION");
    }
  }
  if (!topic || topic.internal) return refusal(404, 1, "Topic not found.", "UNKNOWN_TOPIC_OR_PARTITION");
  return topic;
}

/** Why a produce has no topic: HTTP status, Confluent's error_code, message and Kafka's error name. */
export type TopicRefusal = { status: number; errorCode: number; message: string; error: string };
const refusal = (status: number, sub: number, message: string, error: string): TopicRefusal => ({
  status,
  errorCode: status * 100 + sub,
  message,
  error,
});

export type ProduceOffset = {
  partition: number;
  offset: number | null;
  error_code: number | null;
  error: string | null;
};

/**
 * Appends records (already placed on partitions) as one batch per partition in the topic's codec,
 * acks=all waiting for the group-commit fsync; each record's offset or error, in request order. A
 * batch over max.message.bytes refuses the whole request before anything is appended: every record
 * then carries MESSAGE_TOO_LARGE (/v1 answers it with HTTP 413).
 */
export async function appendRecords(
  svc: Services,
  topic: Topic,
  pending: PendingRecord[],
  acksAll: boolean,
): Promise<ProduceOffset[]> {
  const byPartition = new Map<number, PendingRecord[]>();
  for (const r of pending) {
    let list = byPartition.get(r.partition);
    if (!list) byPartition.set(r.partition, list = []);
    list.push(r);
  }
  const codec = targetCodec(svc.topics.config(topic, "compression.type", svc.config)) ?? 0;
  if (codec === ZSTD) await prepareCompression();
  const logAppendTime = svc.topics.config(topic, "message.timestamp.type", svc.config) === "LogAppendTime";
  const maxMessageBytes = Number(svc.topics.config(topic, "max.message.bytes", svc.config));
  const batches = new Map<number, Uint8Array>();
  for (const [partition, list] of byPartition) {
    const now = svc.now();
    const batch = buildRecordBatch({
      records: list.map((r, i) => ({ ...r.input, timestamp: r.input.timestamp ?? now, offsetDelta: i })),
      codec,
      ...(logAppendTime ? { timestampType: 1, maxTimestamp: now } : {}),
    });
    if (batch.length > maxMessageBytes) {
      const error =
        `The batch of ${list.length} records for partition ${partition} is ${batch.length} bytes, over max.message.bytes ${maxMessageBytes}`;
      return pending.map((r) => ({
        partition: r.partition,
        offset: null,
        error_code: ErrorCode.MESSAGE_TOO_LARGE,
        error,
      }));
    }
    batches.set(partition, batch);
  }

  const minIsr = Number(svc.topics.config(topic, "min.insync.replicas", svc.config));
  const durable = acksAll && svc.config["chronik.fsync.acks.all"] !== false;
  type Outcome = { baseOffset: number } | { errorCode: number; error: string };
  const appendBatch = async (partition: number, batch: Uint8Array): Promise<Outcome> => {
    if (acksAll && minIsr > 1) return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, error: "NOT_ENOUGH_REPLICAS" };
    const infos = scanBatches(batch);
    if (isBatchError(infos)) throw new Error(`built an invalid batch: ${infos.message}`);
    // As Produce: null keys on compacted topics, timestamps out of bounds (Kafka's error codes).
    const problem = validateRecords(batch, infos[0], recordCheckOptions(svc, topic, partition));
    if (problem !== null) return { errorCode: ErrorCode[problem.error], error: problem.message };
    try {
      return { baseOffset: (await topic.partitions[partition].append(batch, infos, { durable })).baseOffset };
    } catch (e) {
      svc.log(
        "error",
        `REST append to ${topic.name}-${partition} failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, error: "KAFKA_STORAGE_ERROR" };
    }
  };
  // Each partition's outcome is its own: one failing on a fault of ours does not hide the offsets
  // of the records other partitions stored meanwhile (they are acknowledged, only its records fail).
  const entries = [...batches];
  const settled = await Promise.allSettled(entries.map(([partition, batch]) => appendBatch(partition, batch)));
  const results = new Map<number, Outcome>();
  settled.forEach((s, i) => {
    const partition = entries[i][0];
    if (s.status === "fulfilled") return void results.set(partition, s.value);
    const why = s.reason instanceof Error ? s.reason.message : String(s.reason);
    svc.log("error", `REST append to ${topic.name}-${partition} failed: ${why}`);
    results.set(partition, { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, error: "UNKNOWN_SERVER_ERROR" });
  });
  const position = new Map<number, number>();
  return pending.map((r) => {
    const res = results.get(r.partition)!;
    const i = position.get(r.partition) ?? 0;
    position.set(r.partition, i + 1);
    return "baseOffset" in res
      ? { partition: r.partition, offset: res.baseOffset + i, error_code: null, error: null }
      : { partition: r.partition, offset: null, error_code: res.errorCode, error: res.error };
  });
}

function partitionOf(t: Topic, raw: string) {
  if (!/^\d+$/.test(raw)) return undefined;
  return t.partitions[Number(raw)];
}

export function partitionView(p: { logStartOffset: number; logEndOffset: number; sizeInBytes: number }, i: number) {
  return { partition: i, logStartOffset: p.logStartOffset, logEndOffset: p.logEndOffset, sizeBytes: p.sizeInBytes };
}

function parseRecords(body: unknown, topic: Topic, roundRobin: Map<string, number>): PendingRecord[] {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Invalid("The body must be an object with a records array");
  }
  const b = body as { records?: unknown; format?: unknown };
  const format = (b.format ?? "json") as Format;
  if (typeof format !== "string" || !FORMATS.includes(format)) {
    throw new Invalid("format must be json, binary or string");
  }
  if (!Array.isArray(b.records) || b.records.length === 0) throw new Invalid("records must be a non-empty array");
  if (b.records.length > MAX_RECORDS) {
    throw new Invalid(`${b.records.length} records in one request; at most ${MAX_RECORDS} are accepted`);
  }
  const n = topic.partitions.length;
  return b.records.map((raw, index): PendingRecord => {
    const what = `records[${index}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Invalid(`${what} must be an object`);
    const r = raw as { key?: unknown; value?: unknown; partition?: unknown; headers?: unknown; timestamp?: unknown };
    const key = encodeData(r.key, format, `${what}.key`);
    const value = encodeData(r.value, format, `${what}.value`);
    const headers = headersIn(r.headers, format, `${what}.headers`);
    if (
      r.timestamp !== undefined && r.timestamp !== null &&
      (!Number.isSafeInteger(r.timestamp) || (r.timestamp as number) < 0)
    ) {
      throw new Invalid(`${what}.timestamp must be milliseconds since the epoch`);
    }
    let partition: number;
    if (r.partition !== undefined && r.partition !== null) {
      if (!Number.isSafeInteger(r.partition)) throw new Invalid(`${what}.partition must be an integer`);
      partition = r.partition as number;
      if (partition < 0 || partition >= n) throw new RangeError("partition");
    } else {
      partition = defaultPartition(topic.name, n, key, roundRobin);
    }
    const input: RecordInput = { key, value, headers };
    if (typeof r.timestamp === "number") input.timestamp = r.timestamp;
    return { index, partition, input };
  });
}

type RestRecord = {
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: Record<string, string | null>;
};
type ReadOut = { records: RestRecord[]; nextOffset: number };

/**
 * Records from `from` in whole batches up to `maxBytes` (the first batch whatever its size, as
 * Fetch), without control batches; read_committed stops at the last stable offset and drops
 * aborted transactions' batches. `nextOffset` passes everything looked at, skipped batches too.
 * Shared by /v1 reads and the v2 consumer instances.
 */
export async function readLog(
  log: PartitionLog,
  from: number,
  maxBytes: number,
  readCommitted: boolean,
): Promise<{ records: DecodedRecord[]; nextOffset: number; bytes: number }> {
  const state = producerStateOf(log);
  const lso = readCommitted ? state.lastStableOffset(log.logEndOffset) : log.logEndOffset;
  if (from >= lso) return { records: [], nextOffset: from, bytes: 0 };
  const batches = await log.read(from, maxBytes, false);
  const records: DecodedRecord[] = [];
  let next = from, bytes = 0;
  const last = batches.length
    ? batchBaseOffsetNumber(batches[batches.length - 1]) + batchLastOffsetDelta(batches[batches.length - 1]) + 1
    : from;
  const aborted = readCommitted ? state.abortedIn(from, last) : [];
  for (const b of batches) {
    const base = batchBaseOffsetNumber(b);
    if (base >= lso) break;
    bytes += b.length;
    const end = base + batchLastOffsetDelta(b) + 1;
    if (end <= next) continue;
    const skip = batchIsControl(b) ||
      (readCommitted && batchIsTransactional(b) &&
        aborted.some((a) => a.producerId === batchProducerId(b) && a.firstOffset <= base && base <= a.lastOffset));
    if (!skip) { for (const r of decodeRecords(b).records) if (Number(r.offset) >= next) records.push(r); }
    next = end;
  }
  return { records, nextOffset: next, bytes };
}

async function readRecords(
  log: PartitionLog,
  from: number,
  maxBytes: number,
  readCommitted: boolean,
  format: Format,
): Promise<ReadOut> {
  const out = await readLog(log, from, maxBytes, readCommitted);
  return {
    nextOffset: out.nextOffset,
    records: out.records.map((r) => {
      const offset = Number(r.offset);
      return {
        offset,
        timestamp: Number(r.timestamp),
        key: decodeData(r.key, format, `the key at offset ${offset}`),
        value: decodeData(r.value, format, `the value at offset ${offset}`),
        headers: headersOut(r.headers, format),
      };
    }),
  };
}
