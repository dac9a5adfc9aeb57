// One contract for every ObjectStore (memory.ts, s3.ts against a real server): what the data path relies on.
import { describe, expect, test } from "bun:test";
import { listAll, type ObjectStore, ObjectStoreError } from "../../../src/storage/objects/store.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function objectStoreContract(name: string, make: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    test("put then get, head and ranged get", async () => {
      const s = await make();
      const body = new Uint8Array(300).map((_, i) => i & 255);
      const { etag } = await s.put("c/a", body);
      expect(await s.get("c/a")).toEqual(body);
      expect(await s.get("c/a", { offset: 100, length: 50 })).toEqual(body.slice(100, 150));
      expect(await s.get("c/a", { offset: 250, length: 500 })).toEqual(body.slice(250));
      const info = await s.head("c/a");
      expect(info).toMatchObject({ key: "c/a", size: 300, etag });
      expect(info!.lastModified).toBeGreaterThan(0);
      expect(await s.head("c/missing")).toBeNull();
    });

    test("errors: NoSuchKey, InvalidRange, PreconditionFailed (create-only), none retriable", async () => {
      const s = await make();
      await s.put("c/once", enc.encode("one"), { ifNoneMatch: true });
      const errs = [
        await s.get("c/none").catch((e) => e),
        await s.get("c/once", { offset: 3, length: 1 }).catch((e) => e),
        await s.put("c/once", enc.encode("two"), { ifNoneMatch: true }).catch((e) => e),
      ];
      expect(errs.map((e) => e instanceof ObjectStoreError && [e.code, e.retriable])).toEqual([
        ["NoSuchKey", false],
        ["InvalidRange", false],
        ["PreconditionFailed", false],
      ]);
      expect(dec.decode(await s.get("c/once"))).toBe("one");
      await s.put("c/once", enc.encode("three")); // an unconditional put replaces
      expect(dec.decode(await s.get("c/once"))).toBe("three");
    });

    test("list: UTF-8 binary order, prefix, pages, start-after", async () => {
      const s = await make();
      // (No key that is also a "directory" of another: versitygw's posix backend cannot hold both.)
      const keys = ["l/b", "l/a", "l/é", "l/Z", "l/a-x", "l/~", "lx"];
      for (const k of keys) await s.put(k, enc.encode(k));
      const all = [];
      for await (const o of listAll(s, "l/")) all.push(o.key);
      expect(all).toEqual(["l/Z", "l/a", "l/a-x", "l/b", "l/~", "l/é"]);
      const p1 = await s.list("l/", { maxKeys: 4 });
      expect(p1.objects.map((o) => o.key)).toEqual(["l/Z", "l/a", "l/a-x", "l/b"]);
      const p2 = await s.list("l/", { maxKeys: 4, continuationToken: p1.nextContinuationToken });
      expect(p2.objects.map((o) => o.key)).toEqual(["l/~", "l/é"]);
      expect(p2.nextContinuationToken).toBeNull();
      expect((await s.list("l/", { startAfter: "l/b" })).objects.map((o) => o.key)).toEqual(["l/~", "l/é"]);
      expect((await s.list("l/")).objects[0].size).toBe(3);
    });

    test("delete and deleteMany, missing keys included", async () => {
      const s = await make();
      for (const k of ["d/1", "d/2", "d/3"]) await s.put(k, enc.encode(k));
      await s.delete("d/1");
      await s.delete("d/never");
      const r = await s.deleteMany(["d/2", "d/3", "d/never"]);
      expect(r.errors).toEqual([]);
      expect(r.deleted.sort()).toEqual(["d/2", "d/3", "d/never"]);
      expect((await s.list("d/")).objects).toEqual([]);
    });

    test("counters count requests and body bytes", async () => {
      const s = await make();
      const before = s.stats.snapshot();
      await s.put("n/x", new Uint8Array(10));
      await s.get("n/x", { offset: 2, length: 5 });
      const after = s.stats.snapshot();
      expect(after.requests.put - before.requests.put).toBe(1);
      expect(after.requests.get - before.requests.get).toBe(1);
      expect(after.bytesOut - before.bytesOut).toBe(10);
      expect(after.bytesIn - before.bytesIn).toBe(5);
    });
  });
}
