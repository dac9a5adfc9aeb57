// The rate and throttle arithmetic of Kafka's client quotas, as org.apache.kafka.common.metrics does
// it: a Rate over a SampledStat of `quota.window.num` samples, each `quota.window.size.seconds`
// long (Sensor with a quota, checked after recording), and QuotaUtils.throttleTime.

type Sample = { value: number; lastWindowMs: number };

/** Kafka's Rate(WindowedSum) in units per second, with its sample handling and window size. */
export class SampledRate {
  private readonly samples: Sample[] = [];
  private current = 0;
  private readonly numSamples: number;
  private readonly windowMs: number;
  /** Time of the last record(), for dropping idle rates. */
  lastRecordMs = 0;

  constructor(numSamples: number, windowMs: number) {
    this.numSamples = Math.max(1, numSamples);
    this.windowMs = Math.max(1, windowMs);
  }

  /** SampledStat.record: the current sample, or the next one once it is a window old. */
  record(value: number, now: number): void {
    if (this.samples.length === 0) this.samples.push({ value: 0, lastWindowMs: now });
    let s = this.samples[this.current];
    if (now - s.lastWindowMs >= this.windowMs) {
      this.current = (this.current + 1) % this.numSamples;
      if (this.current >= this.samples.length) {
        s = { value: 0, lastWindowMs: now };
        this.samples.push(s);
      } else {
        s = this.samples[this.current];
        s.value = 0;
        s.lastWindowMs = now;
      }
    }
    s.value += value;
    this.lastRecordMs = now;
  }

  /** Samples older than all windows together start over (SampledStat.purgeObsoleteSamples). */
  private purge(now: number) {
    const expireAge = this.numSamples * this.windowMs;
    for (const s of this.samples) {
      if (now - s.lastWindowMs >= expireAge) {
        s.value = 0;
        s.lastWindowMs = now;
      }
    }
  }

  /**
   * Rate.windowSize: time since the oldest sample started, but never less than numSamples - 1 full
   * windows (so a young rate is not overestimated), and at least 1 ms.
   */
  windowSizeMs(now: number): number {
    this.purge(now);
    let oldest = now;
    for (const s of this.samples) if (s.lastWindowMs < oldest) oldest = s.lastWindowMs;
    let elapsed = now - oldest;
    const full = Math.floor(elapsed / this.windowMs);
    const minFull = this.numSamples - 1;
    if (full < minFull) elapsed += (minFull - full) * this.windowMs;
    return Math.max(elapsed, 1);
  }

  /** Rate.measure: the sum over the samples per second of window. */
  measure(now: number): number {
    this.purge(now);
    let total = 0;
    for (const s of this.samples) total += s.value;
    return total / (this.windowSizeMs(now) / 1000);
  }

  /** True when every sample has expired: a new rate would measure the same. */
  idle(now: number): boolean {
    return now - this.lastRecordMs >= this.numSamples * this.windowMs;
  }
}

/**
 * ClientQuotaManager.recordAndGetThrottleTimeMs: records `value`, then, if the rate is over
 * `bound`, QuotaUtils.throttleTime: (rate - bound) / bound * window size, rounded; optionally
 * capped (QuotaUtils.boundedThrottleTime, which the request quota uses with one window).
 */
export function recordAndThrottle(
  rate: SampledRate,
  value: number,
  bound: number,
  now: number,
  maxMs = Infinity,
): number {
  rate.record(value, now);
  const observed = rate.measure(now);
  if (observed <= bound) return 0;
  const ms = Math.round((observed - bound) / bound * rate.windowSizeMs(now));
  return Math.min(ms, maxMs);
}

/**
 * Kafka's TokenBucket (KIP-599), the measurable stat of controller_mutation_rate: the bound is the
 * refill rate per second and the bucket holds at most numSamples x window x bound tokens. Recording
 * takes tokens, down into the negative; the quota is exhausted while the tokens are below zero. A new
 * bucket is full (Kafka's starts empty at time 0, so it is full by the first real timestamp).
 */
export class TokenBucket {
  private tokens = 0;
  private lastUpdateMs: number | null = null;
  private readonly burstSeconds: number;
  /** The bound of the last refill, so an idle bucket can be recognised without one. */
  private lastBound = 0;

  constructor(numSamples: number, windowMs: number) {
    this.burstSeconds = Math.max(1, numSamples) * (Math.max(1, windowMs) / 1000);
  }

  burst(bound: number): number {
    return this.burstSeconds * bound;
  }

  private refill(bound: number, now: number) {
    const burst = this.burst(bound);
    this.tokens = this.lastUpdateMs === null
      ? burst
      : Math.min(burst, this.tokens + bound * (Math.max(0, now - this.lastUpdateMs) / 1000));
    this.lastUpdateMs = now;
    this.lastBound = bound;
  }

  /** TokenBucket.measure: the tokens left now. */
  measure(bound: number, now: number): number {
    this.refill(bound, now);
    return this.tokens;
  }

  /** TokenBucket.record: takes `value` tokens (a negative value gives them back, up to the burst). */
  record(value: number, bound: number, now: number): void {
    this.refill(bound, now);
    this.tokens = Math.min(this.burst(bound), this.tokens - value);
  }

  /** True when the bucket has refilled to its burst: a new one would be the same. */
  idle(now: number): boolean {
    if (this.lastUpdateMs === null) return true;
    const burst = this.burst(this.lastBound);
    return this.tokens + this.lastBound * (Math.max(0, now - this.lastUpdateMs) / 1000) >= burst;
  }
}

/**
 * ControllerMutationQuotaManager.throttleTimeMs: the time for a bucket at `tokens` (< 0) to refill
 * to zero at `bound` per second, rounded; 0 when not negative.
 */
export function bucketThrottleMs(tokens: number, bound: number): number {
  if (tokens >= 0) return 0;
  if (bound <= 0) return Infinity;
  return Math.round(-tokens / bound * 1000);
}
