// The Fetch read-buffer pool: reuse after release only, capacity classes, the idle cap, weak leases.
import { describe, expect, test } from "bun:test";
import { BufferPool } from "../../src/storage/buffer_pool.ts";

describe("BufferPool", () => {
  test("a buffer is handed out again only after release; capacities are 64 KiB multiples", () => {
    const pool = new BufferPool();
    const a = pool.acquire(1_069_056);
    expect(a.byteLength).toBe(1_069_056);
    expect(a.buffer.byteLength).toBe(17 * 65536);
    expect(pool.leased(a)).toBe(true);
    expect(pool.leased(a.subarray(10, 20))).toBe(true);
    const b = pool.acquire(1_069_056);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(a.subarray(100, 200)); // any view of it returns it
    expect(pool.leased(a)).toBe(false);
    const c = pool.acquire(1_100_000); // same class
    expect(c.buffer).toBe(a.buffer);
    expect(pool.stats).toEqual({ acquired: 3, reused: 1, released: 1 });
    expect(pool.acquire(10).buffer.byteLength).toBe(65536);
  });

  test("release is idempotent and ignores chunks it did not lease", () => {
    const pool = new BufferPool();
    const a = pool.acquire(1000);
    pool.release(a);
    pool.release(a);
    pool.release(new Uint8Array(1000));
    expect(pool.stats.released).toBe(1);
    expect(pool.idleBytes).toBe(65536);
    const b = pool.acquire(1000);
    const c = pool.acquire(1000);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer); // handed out once, not twice
  });

  test("idle bytes stay under the cap; large reads are not pooled", () => {
    const pool = new BufferPool(3 * 65536, 1 << 20);
    const bufs = [0, 1, 2, 3, 4].map(() => pool.acquire(65536));
    for (const b of bufs) pool.release(b);
    expect(pool.idleBytes).toBe(3 * 65536);
    const big = pool.acquire(2 << 20);
    expect(big.byteLength).toBe(2 << 20);
    expect(pool.leased(big)).toBe(false);
    pool.clear();
    expect(pool.idleBytes).toBe(0);
  });
});
