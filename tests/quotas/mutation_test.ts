// controller_mutation_rate (KIP-599): Kafka's TokenBucket and the strict / permissive request quotas.
import { describe, expect, test } from "bun:test";
import { ClientQuotas, MUTATION, MutationQuota } from "../../src/broker/config/quotas.ts";
import { bucketThrottleMs, TokenBucket } from "../../src/broker/config/quota_rate.ts";

describe("TokenBucket", () => {
  test("starts full at numSamples x window x bound, refills at bound per second, never above the burst", () => {
    const b = new TokenBucket(10, 1000);
    expect(b.burst(2)).toBe(20);
    expect(b.measure(2, 5000)).toBe(20);
    b.record(25, 2, 5000);
    expect(b.measure(2, 5000)).toBe(-5);
    // 2.5 s at 2 tokens/s brings it to zero, 20 s more to the burst and no further.
    expect(b.measure(2, 7500)).toBeCloseTo(0);
    expect(b.measure(2, 100_000)).toBe(20);
    // A negative record gives tokens back, capped at the burst.
    b.record(-5, 2, 100_000);
    expect(b.measure(2, 100_000)).toBe(20);
  });

  test("the window is quota.window.num x quota.window.size.seconds", () => {
    expect(new TokenBucket(11, 1000).burst(2)).toBe(22);
    expect(new TokenBucket(2, 500).burst(4)).toBe(4);
  });

  test("a changed bound changes the refill rate and caps the tokens at the new burst", () => {
    const b = new TokenBucket(10, 1000);
    b.record(10, 2, 0);
    expect(b.measure(1, 0)).toBe(10);
    b.record(15, 1, 0);
    expect(b.measure(1, 1000)).toBeCloseTo(-4);
  });

  test("idle once refilled to its burst", () => {
    const b = new TokenBucket(2, 1000);
    expect(b.idle(0)).toBe(true);
    b.record(6, 2, 0);
    // From -2 to the burst of 4 at 2 tokens/s: 3 s.
    expect(b.idle(2999)).toBe(false);
    expect(b.idle(3000)).toBe(true);
  });

  test("throttle time: tokens below zero over the refill rate, rounded", () => {
    expect(bucketThrottleMs(5, 2)).toBe(0);
    expect(bucketThrottleMs(0, 2)).toBe(0);
    expect(bucketThrottleMs(-5, 2)).toBe(2500);
    expect(bucketThrottleMs(-1, 3)).toBe(333);
  });
});

describe("MutationQuota", () => {
  const clock = (start = 10_000) => {
    const c = { t: start, now: () => c.t };
    return c;
  };

  test("strict (StrictControllerMutationQuotaTest): accepted while not negative, then refused with the time left", () => {
    const c = clock();
    const bucket = new TokenBucket(10, 1000);
    // Burst 100 at 10/s.
    const q = new MutationQuota(bucket, 10, true, c.now);
    expect(q.record(90)).toBe(true);
    expect(q.exceeded).toBe(false);
    expect(q.throttleTimeMs()).toBe(0);
    // Brings the tokens to -80: still accepted, and not throttled (strict throttles only on refusal).
    expect(q.record(90)).toBe(true);
    expect(q.exceeded).toBe(false);
    expect(q.throttleTimeMs()).toBe(0);
    // Refused at once, nothing taken: 80 tokens at 10/s.
    expect(q.record(1)).toBe(false);
    expect(q.exceeded).toBe(true);
    expect(q.throttleTimeMs()).toBe(8000);
    expect(bucket.measure(10, c.t)).toBe(-80);
    // The time left shrinks as time passes (a request answered later says less).
    c.t += 3000;
    expect(q.throttleTimeMs()).toBe(5000);
    // A new request once the bucket is back at zero is accepted.
    c.t += 5000;
    const next = new MutationQuota(bucket, 10, true, c.now);
    expect(next.record(5)).toBe(true);
    expect(next.throttleTimeMs()).toBe(0);
  });

  test("permissive (old versions): always accepted, throttled once negative", () => {
    const c = clock();
    const bucket = new TokenBucket(10, 1000);
    const q = new MutationQuota(bucket, 10, false, c.now);
    expect(q.record(90)).toBe(true);
    expect(q.throttleTimeMs()).toBe(0);
    expect(q.record(90)).toBe(true);
    expect(q.exceeded).toBe(false);
    expect(q.throttleTimeMs()).toBe(8000);
    expect(q.record(20)).toBe(true);
    expect(q.throttleTimeMs()).toBe(10_000);
    expect(bucket.measure(10, c.t)).toBe(-100);
  });

  test("ClientQuotas.mutationQuota: Kafka's entity precedence, one bucket per matched entity, unbounded without", async () => {
    const q = new ClientQuotas({ numSamples: 2, windowMs: 1000 });
    const set = (entity: [string, string | null][], value: number | null) =>
      q.alter(entity.map(([entityType, entityName]) => ({ entityType, entityName })), [{
        key: "controller_mutation_rate",
        value: value ?? 0,
        remove: value === null,
      }], false);
    const c = clock();
    const session = () => ({ principal: "User:alice" });
    // No quota: nothing is ever refused or throttled.
    const none = q.mutationQuota(session(), "app", true, c.now);
    for (let i = 0; i < 5; i++) expect(none.record(1000)).toBe(true);
    expect(none.throttleTimeMs()).toBe(0);

    await set([["client-id", null]], 2);
    expect(q.typeActive[MUTATION]).toBe(true);
    // The connection loop's flag stays off: only the admin handlers take from this quota.
    expect(q.active).toBe(false);
    await set([["user", "alice"], ["client-id", "app"]], 1);
    // users/alice/clients/app: burst 2 x 1 s x 1 = 2.
    const a = q.mutationQuota(session(), "app", true, c.now);
    expect(a.record(3)).toBe(true);
    expect(a.record(1)).toBe(false);
    expect(a.throttleTimeMs()).toBe(1000);
    // Another client id falls to clients/<default> (burst 4), a bucket of its own.
    const b = q.mutationQuota(session(), "other", true, c.now);
    expect(b.record(4)).toBe(true);
    expect(b.record(1)).toBe(true);
    expect(b.record(1)).toBe(false);
    expect(b.throttleTimeMs()).toBe(500);
    // Another request of the first entity shares its bucket.
    expect(q.mutationQuota({ principal: "User:alice" }, "app", true, c.now).record(1)).toBe(false);
    // Removed: unbounded again.
    await set([["user", "alice"], ["client-id", "app"]], null);
    await set([["client-id", null]], null);
    expect(q.typeActive[MUTATION]).toBe(false);
    expect(q.mutationQuota(session(), "app", true, c.now).record(1000)).toBe(true);
  });
});
