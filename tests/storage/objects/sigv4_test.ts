// The pieces of the S3 client that need no server: SigV4 against AWS's published examples, MD5, the XML
// reader, and the retry policy (driven by a scripted fetch; the client against a real server is s3_test.ts).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { md5Hex } from "../../../src/storage/objects/md5.ts";
import { S3ObjectStore } from "../../../src/storage/objects/s3.ts";
import { canonicalQuery, EMPTY_SHA256, signRequest, uriEncode } from "../../../src/storage/objects/sigv4.ts";
import { ObjectStoreError } from "../../../src/storage/objects/store.ts";
import { xmlElements, xmlEscape, xmlText, xmlUnescape } from "../../../src/storage/objects/xml.ts";

const AWS_EXAMPLE = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const signature = (h: Record<string, string>) => h.authorization.replace(/.*Signature=/, "");

describe("SigV4", () => {
  test("AWS's S3 example: GET Object with a Range header", async () => {
    const headers = await signRequest({
      method: "GET",
      url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
      headers: { range: "bytes=0-9" },
      payloadHash: EMPTY_SHA256,
      region: "us-east-1",
      credentials: AWS_EXAMPLE,
      date: new Date("2013-05-24T00:00:00Z"),
    });
    expect(headers.authorization).toStartWith(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ",
    );
    expect(signature(headers)).toBe("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  });

  test("AWS's S3 example: GET Bucket (list objects) with query parameters", async () => {
    const query: [string, string][] = [["max-keys", "2"], ["prefix", "J"]];
    const url = new URL("https://examplebucket.s3.amazonaws.com/");
    url.search = canonicalQuery(query);
    const headers = await signRequest({
      method: "GET",
      url,
      query,
      headers: {},
      payloadHash: EMPTY_SHA256,
      region: "us-east-1",
      credentials: AWS_EXAMPLE,
      date: new Date("2013-05-24T00:00:00Z"),
    });
    expect(signature(headers)).toBe("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  });

  test("URI encoding keeps only unreserved characters (and '/' in paths)", () => {
    expect(uriEncode("a b+c/d*e~f(g)'h!é", true)).toBe("a%20b%2Bc/d%2Ae~f%28g%29%27h%21%C3%A9");
    expect(uriEncode("a/b=c&d", false)).toBe("a%2Fb%3Dc%26d");
    expect(canonicalQuery([["prefix", "x y"], ["list-type", "2"], ["delete", ""]])).toBe(
      "delete=&list-type=2&prefix=x%20y",
    );
  });
});

test("md5 matches a reference on every padding boundary", () => {
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 1000, 65537]) {
    const data = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 255);
    expect(md5Hex(data)).toBe(createHash("md5").update(data).digest("hex"));
  }
});

test("xml: elements, entities, escaping round trip", () => {
  const xml =
    `<R><Contents><Key>a&amp;b &lt;c&gt; &#233;&#x41;</Key></Contents><Contents><Key>z</Key></Contents><E/></R>`;
  expect(xmlElements(xml, "Contents").map((c) => xmlText(c, "Key"))).toEqual(["a&b <c> éA", "z"]);
  expect(xmlText(xml, "Missing")).toBeNull();
  const odd = `k&<>"'\r`;
  expect(xmlUnescape(xmlEscape(odd))).toBe(odd);
});

describe("retries", () => {
  type Answer = Response | Error;
  function scripted(answers: Answer[]) {
    const calls: { method: string; url: string; headers: Record<string, string> }[] = [];
    const fetch = ((url: string, init: RequestInit) => {
      calls.push({ method: String(init.method), url, headers: init.headers as Record<string, string> });
      const a = answers.shift();
      if (!a) throw new Error("no more answers");
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    }) as unknown as typeof globalThis.fetch;
    const store = new S3ObjectStore({
      bucket: "b-1",
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
      pathStyle: true,
      maxAttempts: 4,
      fetch,
      sleep: () => Promise.resolve(),
    });
    return { store, calls };
  }
  const xmlError = (status: number, code: string) =>
    new Response(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`, { status });

  test("5xx, throttling and network errors are retried, then succeed", async () => {
    const { store, calls } = scripted([
      xmlError(503, "SlowDown"),
      new TypeError("fetch failed"),
      xmlError(500, "InternalError"),
      new Response("data", { status: 200 }),
    ]);
    expect(new TextDecoder().decode(await store.get("k"))).toBe("data");
    expect(calls.length).toBe(4);
    expect(store.stats.retries).toBe(3);
    expect(store.stats.requests.get).toBe(4);
  });

  test("gives up after maxAttempts with a retriable error", async () => {
    const { store } = scripted([1, 2, 3, 4].map(() => xmlError(503, "SlowDown")));
    const e = await store.put("k", new Uint8Array(3)).catch((e) => e);
    expect(e).toBeInstanceOf(ObjectStoreError);
    expect(e.code).toBe("SlowDown");
    expect(e.retriable).toBe(true);
    expect(store.stats.failures).toBe(1);
  });

  test("client errors are not retried", async () => {
    const { store, calls } = scripted([xmlError(403, "SignatureDoesNotMatch")]);
    const e = await store.get("k").catch((e) => e);
    expect(e.code).toBe("SignatureDoesNotMatch");
    expect(e.retriable).toBe(false);
    expect(calls.length).toBe(1);
  });

  test("a create-only PUT that meets 412 on a retry says so (its first attempt may have landed)", async () => {
    const { store, calls } = scripted([new TypeError("socket closed"), xmlError(412, "PreconditionFailed")]);
    const e = await store.put("k", new Uint8Array(3), { ifNoneMatch: true }).catch((e) => e);
    expect(e.code).toBe("PreconditionFailed");
    expect(e.afterRetry).toBe(true);
    expect(calls[0].headers["if-none-match"]).toBe("*");
  });

  test("keys with '.' or '..' segments are refused (a URL would resolve them)", async () => {
    const { store } = scripted([]);
    for (const key of ["a/../b", "./x", "a/.", ""]) {
      expect(await store.get(key).catch((e) => e.code)).toBe("InvalidKey");
    }
  });

  test("path-style and virtual-hosted URLs", () => {
    const { store } = scripted([]);
    expect(store.url("dir/a b").href).toBe("http://127.0.0.1:9/b-1/dir/a%20b");
    const vh = new S3ObjectStore({
      bucket: "b-1",
      region: "eu-west-1",
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
      pathStyle: false,
    });
    expect(vh.url("x").href).toBe("https://b-1.s3.eu-west-1.amazonaws.com/x");
    expect(vh.url(null).href).toBe("https://b-1.s3.eu-west-1.amazonaws.com/");
  });
});
