// Kafka's quota arithmetic: Rate over SampledStat windows, the throttle time, entity precedence.
import { describe, expect, test } from "bun:test";
import { ClientQuotas, FETCH, PRODUCE, REQUEST } from "../../src/broker/config/quotas.ts";
import { recordAndThrottle, SampledRate } from "../../src/broker/config/quota_rate.ts";

describe("SampledRate", () => {
  test("a young rate is measured over at least numSamples - 1 windows", () => {
    const r = new SampledRate(11, 1000);
    r.record(10_000, 0);
    expect(r.windowSizeMs(0)).toBe(10_000);
    expect(r.measure(0)).toBe(1000);
    expect(r.windowSizeMs(500)).toBe(10_500);
  });

  test("after numSamples - 1 windows the window is the time since the oldest sample", () => {
    const r = new SampledRate(3, 1000);
    r.record(100, 0);
    r.record(100, 1000);
    r.record(100, 2000);
    expect(r.windowSizeMs(2500)).toBe(2500);
    expect(r.measure(2500)).toBeCloseTo(300 / 2.5);
    // The sample of t=0 is reused at t=3000 (ring of three).
    r.record(100, 3000);
    expect(r.windowSizeMs(3000)).toBe(2000);
    expect(r.measure(3000)).toBe(150);
  });

  test("samples older than all windows are purged", () => {
    const r = new SampledRate(2, 1000);
    r.record(5000, 0);
    expect(r.measure(1999)).toBeGreaterThan(0);
    expect(r.measure(2000)).toBe(0);
    expect(r.idle(2000)).toBe(true);
  });

  test("throttle time is (rate - quota) / quota * window, uncapped for byte rates", () => {
    const r = new SampledRate(11, 1000);
    // 150 KB at once against 10 KB/s: rate 15 KB/s over the 10 s minimum window.
    expect(recordAndThrottle(r, 150_000, 10_000, 0)).toBe(5000);
    const q = new SampledRate(11, 1000);
    expect(recordAndThrottle(q, 50_000, 10_000, 0)).toBe(0);
    expect(recordAndThrottle(q, 60_000, 10_000, 0)).toBe(1000);
    // The capped form (request quota: one window).
    expect(recordAndThrottle(new SampledRate(11, 1000), 1e9, 10_000, 0, 1000)).toBe(1000);
  });
});

describe("ClientQuotas enforcement", () => {
  const session = (user: string) => ({ principal: `User:${user}` }) as { principal: string; quota?: never };
  const set = (q: ClientQuotas, entity: [string, string | null][], key: string, value: number | null) =>
    q.alter(entity.map(([entityType, entityName]) => ({ entityType, entityName })), [{
      key,
      value: value ?? 0,
      remove: value === null,
    }], false);
  const bound = (q: ClientQuotas, user: string, client: string | null, type = PRODUCE) =>
    q.bind(session(user), client, 0).bounds[type];

  test("inactive without quotas; the eight levels in Kafka's order", async () => {
    const q = new ClientQuotas();
    expect(q.active).toBe(false);
    await set(q, [["client-id", null]], "producer_byte_rate", 8);
    expect(q.active).toBe(true);
    expect(q.typeActive).toEqual([true, false, false, false]);
    expect(bound(q, "alice", "app")).toBe(8);
    await set(q, [["client-id", "app"]], "producer_byte_rate", 7);
    expect(bound(q, "alice", "app")).toBe(7);
    await set(q, [["user", null]], "producer_byte_rate", 6);
    expect(bound(q, "alice", "app")).toBe(6);
    await set(q, [["user", null], ["client-id", null]], "producer_byte_rate", 5);
    expect(bound(q, "alice", "app")).toBe(5);
    await set(q, [["user", null], ["client-id", "app"]], "producer_byte_rate", 4);
    expect(bound(q, "alice", "app")).toBe(4);
    await set(q, [["user", "alice"]], "producer_byte_rate", 3);
    expect(bound(q, "alice", "app")).toBe(3);
    await set(q, [["user", "alice"], ["client-id", null]], "producer_byte_rate", 2);
    expect(bound(q, "alice", "app")).toBe(2);
    await set(q, [["user", "alice"], ["client-id", "app"]], "producer_byte_rate", 1);
    expect(bound(q, "alice", "app")).toBe(1);
    // Others fall through to the levels that match them.
    expect(bound(q, "alice", "other")).toBe(2);
    expect(bound(q, "bob", "app")).toBe(4);
    expect(bound(q, "bob", "other")).toBe(5);
    expect(bound(q, "alice", "app", FETCH)).toBe(Infinity);
    // Removing the most specific one falls back at once.
    await set(q, [["user", "alice"], ["client-id", "app"]], "producer_byte_rate", null);
    expect(bound(q, "alice", "app")).toBe(2);
  });

  test("entities sharing a quota share one rate; default entities are per user / client", async () => {
    const q = new ClientQuotas({ numSamples: 2, windowMs: 1000 });
    await set(q, [["client-id", "shared"]], "producer_byte_rate", 1000);
    await set(q, [["user", null]], "consumer_byte_rate", 1000);
    const a = q.bind(session("alice"), "shared", 0);
    const b = q.bind(session("bob"), "shared", 0);
    expect(a.rates[PRODUCE]).toBe(b.rates[PRODUCE]);
    expect(a.rates[FETCH]).not.toBe(b.rates[FETCH]);
    expect(q.record(PRODUCE, a, 600, 0)).toBe(0);
    expect(q.record(PRODUCE, b, 600, 0)).toBe(200);
    expect(q.record(FETCH, a, 600, 0)).toBe(0);
    expect(q.record(FETCH, b, 600, 0)).toBe(0);
    expect(q.maxInWindow(FETCH, a)).toBe(1000);
  });

  test("request_percentage: milliseconds as a percentage of one thread, throttle capped at one window", async () => {
    const q = new ClientQuotas({ numSamples: 2, windowMs: 1000 });
    await set(q, [["client-id", null]], "request_percentage", 10);
    const s = q.bind(session("ANONYMOUS"), "c", 0);
    // 50 ms of 1 s is 5 %.
    expect(q.record(REQUEST, s, 50, 0)).toBe(0);
    // 150 ms in all is 15 %: (15 - 10) / 10 * 1000 ms.
    expect(q.record(REQUEST, s, 100, 0)).toBe(500);
    expect(q.record(REQUEST, s, 10_000, 0)).toBe(1000);
  });
});
