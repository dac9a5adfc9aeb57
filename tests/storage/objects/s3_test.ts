// The S3 client against a real S3-compatible server (versitygw, tests/helpers/s3.ts): signing with awkward
// keys and secrets, ranges, pagination, create-only puts, deletes, errors, retries across a server restart,
// both addressing styles, and the request counters.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { S3ObjectStore } from "../../../src/storage/objects/s3.ts";
import { listAll, ObjectStoreError } from "../../../src/storage/objects/store.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3, type TestS3 } from "../../helpers/s3.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
let s3: TestS3;
let store: S3ObjectStore;

beforeAll(async () => {
  s3 = await startS3({ virtualDomain: "localhost" });
  store = await s3.client("client-test");
});
afterAll(() => s3?.close());

const ODD_KEYS = [
  "plain.txt",
  "with space/and+plus=equals&amp",
  "quotes'\"(parens)*star!bang~tilde",
  "percent%20literal%2F",
  "unicode/äöü/日本語/🙂",
  "semi;colon,comma:colon@at$dollar",
  "deep/a/b/c/d/e/f/g/h",
  "brackets[]{}^`|<>#?",
];

describe("S3 client on versitygw", () => {
  test("put/get/head/list/delete keys with characters SigV4 must encode", async () => {
    for (const [i, key] of ODD_KEYS.entries()) {
      const { etag } = await store.put(`odd/${key}`, enc.encode(`body ${i}`));
      expect(etag).toMatch(/^[0-9a-f]{32}$/);
    }
    for (const [i, key] of ODD_KEYS.entries()) {
      expect(dec.decode(await store.get(`odd/${key}`))).toBe(`body ${i}`);
      const info = await store.head(`odd/${key}`);
      expect(info?.size).toBe(`body ${i}`.length);
    }
    const listed = [];
    for await (const o of listAll(store, "odd/")) listed.push(o.key.slice(4));
    expect(listed.sort()).toEqual([...ODD_KEYS].sort());
    const r = await store.deleteMany(ODD_KEYS.map((k) => `odd/${k}`));
    expect(r.errors).toEqual([]);
    expect((await store.list("odd/")).objects).toEqual([]);
  });

  test("ranged GETs: inside, running past the end (cut), starting past the end (InvalidRange)", async () => {
    const body = new Uint8Array(1000).map((_, i) => i & 255);
    await store.put("range/obj", body);
    expect(await store.get("range/obj", { offset: 10, length: 5 })).toEqual(body.slice(10, 15));
    expect(await store.get("range/obj", { offset: 990, length: 100 })).toEqual(body.slice(990));
    expect(await store.get("range/obj", { offset: 0, length: 1 })).toEqual(body.slice(0, 1));
    const e = await store.get("range/obj", { offset: 1000, length: 10 }).catch((e) => e);
    expect(e).toBeInstanceOf(ObjectStoreError);
    expect(e.code).toBe("InvalidRange");
    expect(e.retriable).toBe(false);
  });

  test("ListObjectsV2 pages with continuation tokens, honours prefix and start-after", async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `page/k${String(i).padStart(3, "0")}`);
    await Promise.all(keys.map((k) => store.put(k, enc.encode(k))));
    await store.put("pagex/other", enc.encode("x"));
    const pages: string[][] = [];
    let token: string | null = null;
    do {
      const page = await store.list("page/", { maxKeys: 5, continuationToken: token });
      pages.push(page.objects.map((o) => o.key));
      token = page.nextContinuationToken;
    } while (token !== null);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
    expect(pages.flat()).toEqual(keys);
    const after = (await store.list("page/", { startAfter: "page/k019" })).objects.map((o) => o.key);
    expect(after).toEqual(keys.slice(20));
    const all = [];
    for await (const o of listAll(store, "page")) all.push(o.key);
    expect(all).toEqual([...keys, "pagex/other"]);
  });

  test("create-only PUT (If-None-Match: *) refuses an existing key and leaves it as it was", async () => {
    await store.put("cond/once", enc.encode("first"), { ifNoneMatch: true });
    const e = await store.put("cond/once", enc.encode("second"), { ifNoneMatch: true }).catch((e) => e);
    expect(e.code).toBe("PreconditionFailed");
    expect(e.status).toBe(412);
    expect(e.retriable).toBe(false);
    expect(e.afterRetry).toBe(false);
    expect(dec.decode(await store.get("cond/once"))).toBe("first");
  });

  test("deletes: single, missing key (succeeds), batch with per-key results", async () => {
    await store.put("del/a", enc.encode("a"));
    await store.delete("del/a");
    expect(await store.head("del/a")).toBeNull();
    await store.delete("del/never-existed");
    const keys = Array.from({ length: 30 }, (_, i) => `del/b${i}`);
    await Promise.all(keys.map((k) => store.put(k, enc.encode("b"))));
    const r = await store.deleteMany([...keys, "del/missing"]);
    expect(r.errors).toEqual([]);
    expect(r.deleted.length).toBe(31);
    expect((await store.list("del/")).objects).toEqual([]);
  });

  test("errors are clear and classified: missing key, missing bucket, wrong secret", async () => {
    const missing = await store.get("nope/nothing").catch((e) => e);
    expect(missing.code).toBe("NoSuchKey");
    expect(missing.message).toContain("s3://client-test/nope/nothing");
    const noBucket = new S3ObjectStore({ ...opts(), bucket: "no-such-bucket" });
    const nb = await noBucket.get("x").catch((e) => e);
    expect(nb.code).toBe("NoSuchBucket");
    expect(nb.retriable).toBe(false);
    const wrong = new S3ObjectStore({
      ...opts(),
      credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: "wrong" },
    });
    const w = await wrong.put("x", enc.encode("x")).catch((e) => e);
    expect(w.code).toBe("SignatureDoesNotMatch");
    expect(w.retriable).toBe(false);
    expect(wrong.stats.requests.put).toBe(1); // not retried
  });

  test("virtual-hosted addressing (bucket.localhost) reaches the same objects", async () => {
    await store.put("vh/one", enc.encode("via path style"));
    const vh = new S3ObjectStore({ ...opts(), endpoint: `http://localhost:${s3.port}`, pathStyle: false });
    expect(vh.url("vh/one").host).toBe(`client-test.localhost:${s3.port}`);
    expect(dec.decode(await vh.get("vh/one"))).toBe("via path style");
    await vh.put("vh/two words", enc.encode("via virtual host"));
    expect(dec.decode(await store.get("vh/two words"))).toBe("via virtual host");
  });

  test("a server that is down: retriable NetworkError after the attempts; a restart mid-retry succeeds", async () => {
    const flaky = new S3ObjectStore({ ...opts(), maxAttempts: 2, retryBaseMs: 1, retryMaxMs: 2 });
    await s3.stop();
    try {
      const e = await flaky.get("range/obj").catch((e) => e);
      expect(e.code).toBe("NetworkError");
      expect(e.retriable).toBe(true);
      expect(flaky.stats.retries).toBe(1);
      // Many attempts with short backoff: the server comes back while the client is still retrying.
      const patient = new S3ObjectStore({ ...opts(), maxAttempts: 200, retryBaseMs: 50, retryMaxMs: 100 });
      const pending = patient.head("range/obj");
      await Bun.sleep(200);
      await s3.start();
      expect((await pending)?.size).toBe(1000);
      expect(patient.stats.retries).toBeGreaterThan(0);
    } finally {
      await s3.start(); // no-op when the test got that far
    }
  });

  test("counters: requests by kind and body bytes", async () => {
    const c = await s3.client("client-test");
    await c.put("count/a", new Uint8Array(100));
    await c.get("count/a", { offset: 0, length: 40 });
    await c.head("count/a");
    await c.list("count/");
    await c.deleteMany(["count/a"]);
    const s = c.stats.snapshot();
    expect(s.requests).toEqual({ put: 1, get: 1, head: 1, delete: 1, list: 1 });
    expect(s.bytesIn).toBe(40);
    expect(s.bytesOut).toBeGreaterThanOrEqual(100); // plus the DeleteObjects body
  });
});

function opts() {
  return {
    bucket: "client-test",
    region: S3_REGION,
    endpoint: s3.endpoint,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    pathStyle: true,
  };
}
