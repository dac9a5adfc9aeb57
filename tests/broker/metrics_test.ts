// The request latency histogram behind /metrics: fixed buckets, cumulative counts, recent quantiles.
import { describe, expect, test } from "bun:test";
import { LATENCY_BUCKETS_MS, LatencyHistograms, QUANTILE_WINDOW_MS } from "../../src/broker/metrics.ts";

describe("LatencyHistograms", () => {
  test("counts into the bucket whose upper bound holds the value, per API key", () => {
    const h = new LatencyHistograms(0);
    h.record(0, 0.2); // <= 0.5
    h.record(0, 0.5); // <= 0.5 (bounds are inclusive, as Prometheus' le)
    h.record(0, 3); // <= 5
    h.record(0, 20_000); // +Inf
    h.record(1, 7); // another API
    const c = h.cumulative(0);
    expect(c.length).toBe(LATENCY_BUCKETS_MS.length + 1);
    expect(c[0]).toBe(2);
    expect(c[LATENCY_BUCKETS_MS.indexOf(2.5)]).toBe(2);
    expect(c[LATENCY_BUCKETS_MS.indexOf(5)]).toBe(3);
    expect(c[LATENCY_BUCKETS_MS.length - 1]).toBe(3);
    expect(c[LATENCY_BUCKETS_MS.length]).toBe(4);
    expect(h.count(0)).toBe(4);
    expect(h.sums[0]).toBeCloseTo(20_003.7, 6);
    expect(h.count(1)).toBe(1);
    expect(h.count(2)).toBe(0);
    // Cumulative counts never decrease.
    for (let i = 1; i < c.length; i++) expect(c[i]).toBeGreaterThanOrEqual(c[i - 1]);
  });

  test("quantiles interpolate within the bucket, as histogram_quantile does", () => {
    const h = new LatencyHistograms(0);
    expect(h.quantile(0, 0.5)).toBeNaN();
    for (let i = 0; i < 100; i++) h.record(0, i < 50 ? 0.7 : 30); // 50 in (0.5, 1], 50 in (25, 50]
    expect(h.quantile(0, 0.25)).toBeCloseTo(0.75, 9); // halfway through (0.5, 1]
    expect(h.quantile(0, 0.5)).toBeCloseTo(1, 9);
    expect(h.quantile(0, 0.99)).toBeCloseTo(25 + 25 * (49 / 50), 9);
    h.record(0, 1e6);
    expect(h.quantile(0, 1)).toBe(LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]); // +Inf: its lower bound
  });

  test("quantiles cover the current and previous window; cumulative counts keep everything", () => {
    const h = new LatencyHistograms(0);
    h.record(0, 0.1);
    h.rotate(QUANTILE_WINDOW_MS - 1); // too early: nothing changes
    h.rotate(QUANTILE_WINDOW_MS); // the 0.1 ms sample is in the previous window now
    h.record(0, 4000);
    expect(h.quantile(0, 0.25)).toBeLessThanOrEqual(0.5);
    h.rotate(2 * QUANTILE_WINDOW_MS); // the 0.1 ms sample ages out
    expect(h.quantile(0, 0.25)).toBeGreaterThan(2500);
    h.rotate(10 * QUANTILE_WINDOW_MS); // idle for long: both windows empty
    expect(h.quantile(0, 0.5)).toBeNaN();
    expect(h.count(0)).toBe(2);
  });
});
