// Client telemetry (KIP-714): client-metrics subscriptions, the clients that ask for them, and the
// metrics they push.
//
// Subscriptions are CLIENT_METRICS config resources (kafka-client-metrics, or the Admin API), each
// with `metrics` (metric-name prefixes, `*` for all), `interval.ms` (push interval, 100-3600000,
// default 300000) and `match` (`key=regex` selectors, all of which must match: client_instance_id,
// client_id, client_software_name, client_software_version, client_source_address,
// client_source_port). A client gets the union of the metrics of every subscription that matches it
// and the shortest interval; its subscription id changes whenever that does, and a push under an
// old id answers UNKNOWN_SUBSCRIPTION_ID so that the client asks again.
//
// Pushes (PushTelemetry): a push is accepted right after GetTelemetrySubscriptions or once the push
// interval has passed since the last one (THROTTLING_QUOTA_EXCEEDED otherwise; a terminating push
// is always accepted), up to telemetry.max.bytes (TELEMETRY_TOO_LARGE), in a compression type the
// broker offered. The OTLP payload is decoded (otlp.ts) and the latest value of each data point is
// kept for /metrics, at most MAX_SERIES series; clients that stop pushing are forgotten after three
// intervals. Kafka hands pushed metrics to a ClientTelemetryReceiver plugin; here they are exposed
// on the HTTP side's /metrics as chronik_client_metric.
import { decompress } from "../../protocol/compression/index.ts";
import { crc32c } from "../../protocol/crc32c.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ZERO_UUID } from "../../protocol/codec.ts";
import type { AlterOp, DescribedConfig, DescribeOutcome, Outcome } from "../config/configs.ts";
import { splitList } from "../topic_configs.ts";
import { randomUuid } from "../topics.ts";
import { readOtlpMetrics } from "./otlp.ts";

export type ClientMetricsSnapshot = Record<string, Record<string, string>>;

const DEFAULT_INTERVAL_MS = 300000;
const MATCH_KEYS = [
  "client_instance_id",
  "client_id",
  "client_software_name",
  "client_software_version",
  "client_source_address",
  "client_source_port",
];
const NAMES = ["metrics", "interval.ms", "match"];
/** zstd, lz4, gzip, snappy: the codecs a client may compress pushes with, preferred first. */
const ACCEPTED_COMPRESSION = [4, 3, 1, 2];
const MAX_SERIES = 10000;
const MAX_CLIENTS = 10000;

export type ClientInfo = {
  clientId: string;
  softwareName: string;
  softwareVersion: string;
  sourceAddress: string;
  sourcePort: string;
};

type Instance = ClientInfo & {
  id: string;
  subscriptionId: number;
  metrics: string[];
  intervalMs: number;
  lastGet: number;
  lastPush: number;
  series: Map<string, { name: string; attributes: Record<string, string>; value: number }>;
};

export class ClientMetrics {
  private readonly subscriptions = new Map<string, Map<string, string>>();
  private readonly instances = new Map<string, Instance>();
  private series = 0;
  onChange: () => Promise<void> = async () => {};

  constructor(private readonly maxBytes: () => number, private readonly now: () => number) {}

  // ---- subscriptions (CLIENT_METRICS config resources) ------------------------------------------

  names(): string[] {
    return [...this.subscriptions.keys()].sort();
  }

  private validate(values: Map<string, string>): string | null {
    for (const [k, v] of values) {
      if (!NAMES.includes(k)) return `Unknown client metrics config name: ${k}`;
      if (k === "interval.ms") {
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 100 || n > 3600000) {
          return `Invalid value ${v} for interval.ms, interval must be between 100 and 3600000 (1 hour)`;
        }
      }
      if (k === "match") {
        for (const m of splitList(v)) {
          const eq = m.indexOf("=");
          const key = m.slice(0, eq);
          if (eq <= 0 || !MATCH_KEYS.includes(key)) return `Illegal client matching pattern: ${m}`;
          try {
            new RegExp(m.slice(eq + 1));
          } catch {
            return `Illegal regex pattern in client matching pattern: ${m}`;
          }
        }
      }
    }
    return null;
  }

  describe(name: string, includeDocumentation: boolean): DescribeOutcome {
    if (name === "") {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Resource name must not be empty", configs: [] };
    }
    const set = this.subscriptions.get(name);
    const defaults: Record<string, string> = { "metrics": "", "interval.ms": String(DEFAULT_INTERVAL_MS), "match": "" };
    const docs: Record<string, string> = {
      "metrics": "Metric name prefixes the matching clients push (* for all).",
      "interval.ms": "How often the matching clients push.",
      "match": "key=regex selectors a client must all match (client_id, client_software_name, ...).",
    };
    const configs: DescribedConfig[] = NAMES.map((n) => ({
      name: n,
      value: set?.get(n) ?? defaults[n],
      readOnly: false,
      isDefault: !set?.has(n),
      configSource: set?.has(n) ? 7 : 5, // CLIENT_METRICS_CONFIG, DEFAULT_CONFIG
      isSensitive: false,
      synonyms: [],
      configType: n === "interval.ms" ? 3 : 7,
      documentation: includeDocumentation ? docs[n] : null,
    }));
    return { errorCode: ErrorCode.NONE, errorMessage: null, configs };
  }

  async alter(name: string, ops: readonly AlterOp[], incremental: boolean, validateOnly: boolean): Promise<Outcome> {
    if (name === "") return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Resource name must not be empty" };
    const next = incremental ? new Map(this.subscriptions.get(name) ?? []) : new Map<string, string>();
    for (const o of ops) {
      if (!NAMES.includes(o.name)) {
        return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: `Unknown client metrics config name: ${o.name}` };
      }
      if (incremental && o.op === 1) next.delete(o.name);
      else if (incremental && (o.op === 2 || o.op === 3)) {
        const old = splitList(next.get(o.name) ?? "");
        const given = splitList(o.value ?? "");
        next.set(
          o.name,
          (o.op === 2 ? [...old, ...given.filter((v) => !old.includes(v))] : old.filter((v) => !given.includes(v)))
            .join(","),
        );
      } else next.set(o.name, o.value ?? "");
    }
    const err = this.validate(next);
    if (err) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: err };
    if (validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null };
    if (next.size === 0) this.subscriptions.delete(name);
    else this.subscriptions.set(name, next);
    this.resolveAll();
    await this.onChange();
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }

  snapshot(): ClientMetricsSnapshot {
    return Object.fromEntries([...this.subscriptions].map(([k, v]) => [k, Object.fromEntries(v)]));
  }

  restore(s: ClientMetricsSnapshot): void {
    this.subscriptions.clear();
    for (const [k, v] of Object.entries(s)) this.subscriptions.set(k, new Map(Object.entries(v)));
    this.resolveAll();
  }

  // ---- clients ----------------------------------------------------------------------------------

  private matches(sub: Map<string, string>, i: Instance): boolean {
    const fields: Record<string, string> = {
      client_instance_id: i.id,
      client_id: i.clientId,
      client_software_name: i.softwareName,
      client_software_version: i.softwareVersion,
      client_source_address: i.sourceAddress,
      client_source_port: i.sourcePort,
    };
    return splitList(sub.get("match") ?? "").every((m) => {
      const eq = m.indexOf("=");
      return new RegExp(`^(?:${m.slice(eq + 1)})$`).test(fields[m.slice(0, eq)] ?? "");
    });
  }

  /** Subscriptions changed: every client's effective subscription again. */
  private resolveAll() {
    for (const i of this.instances.values()) this.resolve(i);
  }

  /**
   * The client's effective subscription and its id: computed whenever the subscriptions (alter,
   * restore) or the client's own info (getSubscriptions) change, so a push only reads it.
   */
  private resolve(i: Instance) {
    const metrics = new Set<string>();
    let interval = Infinity;
    for (const sub of this.subscriptions.values()) {
      if (!this.matches(sub, i)) continue;
      const m = splitList(sub.get("metrics") ?? "");
      if (m.length === 0) continue;
      for (const x of m) metrics.add(x === "*" ? "" : x);
      interval = Math.min(interval, Number(sub.get("interval.ms") ?? DEFAULT_INTERVAL_MS));
    }
    i.metrics = [...metrics].sort();
    i.intervalMs = Number.isFinite(interval) ? interval : DEFAULT_INTERVAL_MS;
    const text = new TextEncoder().encode(JSON.stringify([i.metrics, i.intervalMs]));
    i.subscriptionId = crc32c(text) & 0x7fffffff;
  }

  getSubscriptions(clientInstanceId: string, info: ClientInfo) {
    const now = this.now();
    this.expire(now);
    let i = clientInstanceId === ZERO_UUID ? undefined : this.instances.get(clientInstanceId);
    if (!i) {
      if (this.instances.size >= MAX_CLIENTS) {
        const oldest = this.instances.keys().next().value!;
        this.forget(oldest);
      }
      i = {
        ...info,
        id: clientInstanceId === ZERO_UUID ? randomUuid() : clientInstanceId,
        subscriptionId: 0,
        metrics: [],
        intervalMs: DEFAULT_INTERVAL_MS,
        lastGet: now,
        lastPush: 0,
        series: new Map(),
      };
      this.instances.set(i.id, i);
    }
    Object.assign(i, info);
    this.resolve(i);
    i.lastGet = now;
    return {
      errorCode: ErrorCode.NONE,
      clientInstanceId: i.id,
      subscriptionId: i.subscriptionId,
      acceptedCompressionTypes: ACCEPTED_COMPRESSION,
      pushIntervalMs: i.intervalMs,
      telemetryMaxBytes: this.maxBytes(),
      deltaTemporality: false,
      requestedMetrics: i.metrics.map((m) => (m === "" ? "*" : m)),
    };
  }

  push(
    clientInstanceId: string,
    subscriptionId: number,
    terminating: boolean,
    compressionType: number,
    payload: Uint8Array,
  ): number {
    const now = this.now();
    const i = this.instances.get(clientInstanceId);
    if (!i) return ErrorCode.UNKNOWN_SUBSCRIPTION_ID;
    if (subscriptionId !== i.subscriptionId) return ErrorCode.UNKNOWN_SUBSCRIPTION_ID;
    const fresh = i.lastGet > i.lastPush || now - Math.max(i.lastGet, i.lastPush) >= i.intervalMs;
    if (!fresh && !terminating) return ErrorCode.THROTTLING_QUOTA_EXCEEDED;
    i.lastPush = now;
    if (payload.length > this.maxBytes()) return ErrorCode.TELEMETRY_TOO_LARGE;
    if (compressionType !== 0 && !ACCEPTED_COMPRESSION.includes(compressionType)) {
      return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
    }
    let points;
    try {
      points = readOtlpMetrics(decompress(compressionType, payload, this.maxBytes() * 16));
    } catch {
      return ErrorCode.INVALID_RECORD;
    }
    for (const p of points) {
      if (!i.metrics.some((prefix) => p.name.startsWith(prefix))) continue;
      const key = `${p.name}\u0000${JSON.stringify(p.attributes)}`;
      if (!i.series.has(key)) {
        if (this.series >= MAX_SERIES) continue;
        this.series++;
      }
      i.series.set(key, p);
    }
    if (terminating) this.forget(i.id);
    return ErrorCode.NONE;
  }

  private forget(id: string) {
    const i = this.instances.get(id);
    if (!i) return;
    this.series -= i.series.size;
    this.instances.delete(id);
  }

  private expire(now: number) {
    for (const i of [...this.instances.values()]) {
      if (now - Math.max(i.lastGet, i.lastPush) > 3 * i.intervalMs) this.forget(i.id);
    }
  }

  /** The latest pushed values, for /metrics. */
  *points(): Generator<
    { client: ClientInfo & { id: string }; name: string; attributes: Record<string, string>; value: number }
  > {
    this.expire(this.now());
    for (const i of this.instances.values()) {
      for (const p of i.series.values()) yield { client: i, name: p.name, attributes: p.attributes, value: p.value };
    }
  }
}
