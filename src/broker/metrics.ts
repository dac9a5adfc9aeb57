// Broker metrics for the HTTP side (/metrics): requests per API with their latency, bytes in and out
// (per topic too), connections. The server counts into them where it already handles each request and
// chunk (increments into preallocated arrays, no allocation); open connections are the server's own
// count, read when asked.
import type { Handler } from "./handler.ts";

/** Upper bounds (ms) of the request latency buckets; one more bucket holds everything slower. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
];
const SLOTS = LATENCY_BUCKETS_MS.length + 1;
/** How long a quantile window lasts: quantiles cover the current and the previous window. */
export const QUANTILE_WINDOW_MS = 60_000;

/**
 * Fixed-bucket latency histograms, one per API key: cumulative counts (a Prometheus histogram) and two
 * rotating windows from which recent quantiles are estimated (Kafka's percentiles are recent too).
 */
export class LatencyHistograms {
  /** Cumulative counts per (key, bucket), not cumulative across buckets. */
  readonly counts: Float64Array;
  readonly sums: Float64Array;
  private current: Float64Array;
  private previous: Float64Array;
  private windowStart: number;

  constructor(now: number, keys = 128) {
    this.counts = new Float64Array(keys * SLOTS);
    this.sums = new Float64Array(keys);
    this.current = new Float64Array(keys * SLOTS);
    this.previous = new Float64Array(keys * SLOTS);
    this.windowStart = now;
  }

  record(key: number, ms: number): void {
    let b = 0;
    while (b < SLOTS - 1 && ms > LATENCY_BUCKETS_MS[b]) b++;
    const i = key * SLOTS + b;
    this.counts[i]++;
    this.current[i]++;
    this.sums[key] += ms;
  }

  count(key: number): number {
    let n = 0;
    for (let b = 0; b < SLOTS; b++) n += this.counts[key * SLOTS + b];
    return n;
  }

  /** Cumulative bucket counts (le = LATENCY_BUCKETS_MS[i], the last one +Inf). */
  cumulative(key: number): number[] {
    const out: number[] = [];
    let n = 0;
    for (let b = 0; b < SLOTS; b++) out.push(n += this.counts[key * SLOTS + b]);
    return out;
  }

  /** Starts a new window once the current one is QUANTILE_WINDOW_MS old (called when scraped). */
  rotate(now: number): void {
    if (now - this.windowStart < QUANTILE_WINDOW_MS) return;
    const old = this.previous;
    // Idle for two windows or more: the previous window is as empty as the current one.
    if (now - this.windowStart >= 2 * QUANTILE_WINDOW_MS) this.current.fill(0);
    this.previous = this.current;
    old.fill(0);
    this.current = old;
    this.windowStart = now;
  }

  /**
   * The q-quantile (0..1) of the recent windows' latencies in ms, interpolated linearly within its bucket
   * (as Prometheus' histogram_quantile does); NaN without samples. The last bucket answers its lower bound.
   */
  quantile(key: number, q: number): number {
    const base = key * SLOTS;
    let total = 0;
    for (let b = 0; b < SLOTS; b++) total += this.current[base + b] + this.previous[base + b];
    if (total === 0) return NaN;
    const rank = q * total;
    let seen = 0;
    for (let b = 0; b < SLOTS; b++) {
      const n = this.current[base + b] + this.previous[base + b];
      if (n > 0 && seen + n >= rank) {
        if (b === SLOTS - 1) return LATENCY_BUCKETS_MS[SLOTS - 2];
        const lower = b === 0 ? 0 : LATENCY_BUCKETS_MS[b - 1];
        return lower + (LATENCY_BUCKETS_MS[b] - lower) * ((rank - seen) / n);
      }
      seen += n;
    }
    return LATENCY_BUCKETS_MS[SLOTS - 2];
  }
}

/** Highest request version counted per API (versions above share the last slot). */
const VERSIONS = 32;

export class Metrics {
  readonly startedAt: number;
  /** API names by key, for labels. */
  readonly apiNames: ReadonlyMap<number, string>;
  /** Requests dispatched to a handler, by API key. */
  readonly requests = new Float64Array(128);
  /** Requests dispatched, by API key * 32 + version. */
  readonly requestsByVersion = new Float64Array(128 * VERSIONS);
  /** Requests whose handler failed (the connection was closed), by API key. */
  readonly failures = new Float64Array(128);
  /** Time from a request's dispatch to its response queued (ms), by API key. */
  readonly latency: LatencyHistograms;
  bytesIn = 0;
  bytesOut = 0;
  /** Record bytes appended by Produce and returned by Fetch, and records appended, over all topics. */
  topicBytesIn = 0;
  topicBytesOut = 0;
  messagesIn = 0;
  connectionsTotal = 0;
  /** Open connections (the server sets it to read its own). */
  connectionsOpen: () => number = () => 0;

  constructor(now: number, handlers: Iterable<Handler>) {
    this.startedAt = now;
    this.apiNames = new Map([...handlers].map((h) => [h.api.key, h.api.name]));
    this.latency = new LatencyHistograms(now);
  }

  countRequest(apiKey: number, version: number): void {
    this.requests[apiKey]++;
    this.requestsByVersion[apiKey * VERSIONS + Math.min(version, VERSIONS - 1)]++;
  }

  versionCount(apiKey: number, version: number): number {
    return this.requestsByVersion[apiKey * VERSIONS + version];
  }
}

/** Per-topic counters (Kafka's BrokerTopicMetrics), kept on the topic so they go when it is deleted. */
export type TopicStats = { bytesIn: number; bytesOut: number; messagesIn: number };

export function topicStats(): TopicStats {
  return { bytesIn: 0, bytesOut: 0, messagesIn: 0 };
}
