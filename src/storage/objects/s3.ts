// An ObjectStore over the S3 REST API: Web fetch plus SigV4 (sigv4.ts), path-style or virtual-hosted
// addressing, retries with full-jitter exponential backoff for failures that trying again can fix (5xx,
// throttling, network errors, time-outs). Every request here is safe to repeat: GET, HEAD, LIST, DELETE and
// DeleteObjects are idempotent, and a PUT writes the same bytes again. The one subtle case is a create-only
// PUT (If-None-Match: *) whose first attempt took effect but whose answer was lost: the retry then gets
// 412, reported with `afterRetry` so the caller can check whether the object it finds is its own (writer.ts
// compares the ETag with the MD5 of its body).
import { md5, md5Hex, toBase64 } from "./md5.ts";
import { canonicalQuery, type Credentials, EMPTY_SHA256, sha256Hex, signRequest, uriEncode } from "./sigv4.ts";
import type { DeleteResult, ListOptions, ListPage, ObjectInfo, ObjectOp, ObjectStore, PutOptions } from "./store.ts";
import { ObjectStoreError, ObjectStoreStats } from "./store.ts";
import { xmlElements, xmlEscape, xmlText } from "./xml.ts";

export type S3Options = {
  bucket: string;
  /** Region used in signatures ("us-east-1" for most S3-compatible servers). */
  region: string;
  /** e.g. "http://127.0.0.1:7070"; default https://s3.<region>.amazonaws.com. */
  endpoint?: string | null;
  credentials: Credentials;
  /** Path-style URLs (endpoint/bucket/key) rather than virtual-hosted (bucket.endpoint/key). */
  pathStyle: boolean;
  /** Attempts per request, the first included (default 5). */
  maxAttempts?: number;
  /** Backoff before retry n is random in [0, min(cap, base * 2^n)) (defaults 100 ms and 5 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Time-out of one attempt (default 30 s). */
  requestTimeoutMs?: number;
  /** Sign payloads with their SHA-256 (default), or send UNSIGNED-PAYLOAD (saves hashing; TLS only). */
  signPayload?: boolean;
  /** For tests: a different fetch, or a sleep that does not wait. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
};

const RETRIABLE_CODES = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestTimeout",
  "RequestTimeTooSkewed",
  "InternalError",
  "ServiceUnavailable",
  "RequestLimitExceeded",
  "TooManyRequests",
]);

type Req = {
  op: ObjectOp;
  method: string;
  key: string | null;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Statuses answered without an error (besides 2xx). */
  okStatuses?: number[];
};

export class S3ObjectStore implements ObjectStore {
  readonly stats = new ObjectStoreStats();
  readonly description: string;
  readonly #o: Required<Omit<S3Options, "endpoint" | "fetch" | "sleep">> & { endpoint: URL };
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: S3Options) {
    if (!/^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new Error(`invalid S3 bucket name ${JSON.stringify(options.bucket)}`);
    }
    const endpoint = new URL(options.endpoint ?? `https://s3.${options.region}.amazonaws.com`);
    if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
      throw new Error(`S3 endpoint must be http or https: ${endpoint.href}`);
    }
    this.#o = {
      bucket: options.bucket,
      region: options.region,
      endpoint,
      credentials: options.credentials,
      pathStyle: options.pathStyle,
      maxAttempts: options.maxAttempts ?? 5,
      retryBaseMs: options.retryBaseMs ?? 100,
      retryMaxMs: options.retryMaxMs ?? 5000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30000,
      signPayload: options.signPayload ?? true,
    };
    this.#fetch = options.fetch ?? (((input, init) => fetch(input, init)) as typeof fetch);
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.description = `s3://${options.bucket} at ${endpoint.origin}${options.pathStyle ? " (path-style)" : ""}`;
  }

  /** The URL of a key (or of the bucket when key is null), without query. */
  url(key: string | null): URL {
    const e = this.#o.endpoint;
    const path = key === null ? "" : uriEncode(key, true);
    if (key !== null) checkKey(key);
    const base = e.pathname.replace(/\/+$/, "");
    if (this.#o.pathStyle) {
      return new URL(`${e.protocol}//${e.host}${base}/${this.#o.bucket}${key === null ? "" : "/" + path}`);
    }
    return new URL(`${e.protocol}//${this.#o.bucket}.${e.host}${base}/${path}`);
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    const headers: Record<string, string> = { "content-type": options.contentType ?? "application/octet-stream" };
    if (options.ifNoneMatch) headers["if-none-match"] = "*";
    const res = await this.#request({ op: "put", method: "PUT", key, headers, body });
    return { etag: unquote(res.headers.get("etag") ?? md5Hex(body)) };
  }

  async get(key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    if (range) {
      if (range.length <= 0 || range.offset < 0) throw new RangeError(`bad range ${range.offset}+${range.length}`);
      headers.range = `bytes=${range.offset}-${range.offset + range.length - 1}`;
    }
    const res = await this.#request({ op: "get", method: "GET", key, headers });
    // A server that ignores Range answers 200 with the whole object.
    if (range && res.status === 200) return res.body.subarray(range.offset, range.offset + range.length);
    return res.body;
  }

  /** Creates the bucket (tests, benchmarks); an existing bucket of ours is fine. */
  async createBucket(): Promise<void> {
    const body = this.#o.region === "us-east-1" ? undefined : new TextEncoder().encode(
      `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${
        xmlEscape(this.#o.region)
      }</LocationConstraint></CreateBucketConfiguration>`,
    );
    try {
      await this.#request({ op: "put", method: "PUT", key: null, body });
    } catch (e) {
      if (!(e instanceof ObjectStoreError && e.code === "BucketAlreadyOwnedByYou")) throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const res = await this.#request({ op: "head", method: "HEAD", key, okStatuses: [404] });
    if (res.status === 404) return null;
    return {
      key,
      size: Number(res.headers.get("content-length") ?? 0),
      etag: unquote(res.headers.get("etag") ?? ""),
      lastModified: Date.parse(res.headers.get("last-modified") ?? "") || 0,
    };
  }

  async delete(key: string): Promise<void> {
    await this.#request({ op: "delete", method: "DELETE", key, okStatuses: [404] });
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteResult> {
    const result: DeleteResult = { deleted: [], errors: [] };
    const enc = new TextEncoder();
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      for (const k of chunk) checkKey(k);
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${
          chunk.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join("")
        }</Delete>`;
      const body = enc.encode(xml);
      const res = await this.#request({
        op: "delete",
        method: "POST",
        key: null,
        query: [["delete", ""]],
        headers: { "content-type": "application/xml", "content-md5": toBase64(md5(body)) },
        body,
      });
      const text = new TextDecoder().decode(res.body);
      const failed = new Set<string>();
      for (const e of xmlElements(text, "Error")) {
        const key = xmlText(e, "Key") ?? "";
        failed.add(key);
        result.errors.push({ key, code: xmlText(e, "Code") ?? "", message: xmlText(e, "Message") ?? "" });
      }
      for (const k of chunk) if (!failed.has(k)) result.deleted.push(k);
    }
    return result;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const query: [string, string][] = [["list-type", "2"], ["prefix", prefix]];
    if (options.continuationToken) query.push(["continuation-token", options.continuationToken]);
    if (options.startAfter) query.push(["start-after", options.startAfter]);
    query.push(["max-keys", String(Math.min(options.maxKeys ?? 1000, 1000))]);
    const res = await this.#request({ op: "list", method: "GET", key: null, query });
    const xml = new TextDecoder().decode(res.body);
    const objects = xmlElements(xml, "Contents").map((c) => ({
      key: xmlText(c, "Key") ?? "",
      size: Number(xmlText(c, "Size") ?? 0),
      etag: unquote(xmlText(c, "ETag") ?? ""),
      lastModified: Date.parse(xmlText(c, "LastModified") ?? "") || 0,
    }));
    const truncated = xmlText(xml, "IsTruncated") === "true";
    const next = xmlText(xml, "NextContinuationToken");
    if (truncated && !next) {
      throw new ObjectStoreError("truncated listing without a continuation token", "BadResponse", 200, false);
    }
    return { objects, nextContinuationToken: truncated ? next : null };
  }

  async #request(req: Req): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
    const o = this.#o;
    const url = this.url(req.key);
    const query = req.query ?? [];
    if (query.length > 0) url.search = canonicalQuery(query);
    const payloadHash = req.body === undefined
      ? EMPTY_SHA256
      : o.signPayload
      ? await sha256Hex(req.body)
      : "UNSIGNED-PAYLOAD";
    let lastError: ObjectStoreError | null = null;
    for (let attempt = 0; attempt < o.maxAttempts; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        await this.#sleep(Math.random() * Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** attempt));
      }
      this.stats.count(req.op, req.body?.length ?? 0);
      let res: Response;
      try {
        const headers = await signRequest({
          method: req.method,
          url,
          query,
          headers: req.headers ?? {},
          payloadHash,
          region: o.region,
          credentials: o.credentials,
        });
        delete headers.host; // fetch sets it from the URL (and refuses to be told)
        res = await this.#fetch(url.href, {
          method: req.method,
          headers,
          body: req.body as Uint8Array<ArrayBuffer> | undefined,
          signal: AbortSignal.timeout(o.requestTimeoutMs),
        });
      } catch (e) {
        const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
        lastError = new ObjectStoreError(
          `${req.method} ${this.#what(req)}: ${timedOut ? `no answer within ${o.requestTimeoutMs} ms` : errorText(e)}`,
          timedOut ? "RequestTimeout" : "NetworkError",
          0,
          true,
          req.key,
          null,
          attempt > 0,
        );
        continue;
      }
      let body: Uint8Array;
      try {
        body = req.method === "HEAD" ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        lastError = new ObjectStoreError(
          `${req.method} ${this.#what(req)}: answer cut off: ${errorText(e)}`,
          "NetworkError",
          res.status,
          true,
          req.key,
          null,
          attempt > 0,
        );
        continue;
      }
      if (res.ok || req.okStatuses?.includes(res.status)) {
        if (req.op === "get") this.stats.bytesIn += body.length;
        return { status: res.status, headers: res.headers, body };
      }
      lastError = this.#error(req, res, body, attempt > 0);
      if (!lastError.retriable) break;
    }
    this.stats.failures++;
    throw lastError!;
  }

  #what(req: Req): string {
    return req.key === null ? `s3://${this.#o.bucket}` : `s3://${this.#o.bucket}/${req.key}`;
  }

  #error(req: Req, res: Response, body: Uint8Array, afterRetry: boolean): ObjectStoreError {
    const xml = new TextDecoder().decode(body);
    const code = xmlText(xml, "Code") ?? defaultCode(res.status);
    const message = xmlText(xml, "Message") ?? res.statusText;
    const requestId = xmlText(xml, "RequestId") ?? res.headers.get("x-amz-request-id");
    const retriable = res.status >= 500 || res.status === 429 || RETRIABLE_CODES.has(code);
    return new ObjectStoreError(
      `${req.method} ${this.#what(req)}: ${res.status} ${code}: ${message}${
        requestId ? ` (request id ${requestId})` : ""
      }`,
      code,
      res.status,
      retriable,
      req.key,
      requestId,
      afterRetry,
    );
  }
}

function defaultCode(status: number): string {
  switch (status) {
    case 301:
      return "PermanentRedirect";
    case 400:
      return "BadRequest";
    case 403:
      return "AccessDenied";
    case 404:
      return "NoSuchKey";
    case 412:
      return "PreconditionFailed";
    case 416:
      return "InvalidRange";
    case 429:
      return "TooManyRequests";
    case 503:
      return "SlowDown";
  }
  return status >= 500 ? "InternalError" : `HTTP${status}`;
}

/**
 * Keys that a URL cannot carry unchanged are refused: WHATWG URLs resolve "." and ".." path segments (even
 * percent-encoded), so such a key would name a different object.
 */
export function checkKey(key: string): void {
  if (key.length === 0 || new TextEncoder().encode(key).length > 1024) {
    throw new ObjectStoreError(
      `object key must be 1 to 1024 bytes: ${JSON.stringify(key)}`,
      "InvalidKey",
      0,
      false,
      key,
    );
  }
  if (key.split("/").some((s) => s === "." || s === "..")) {
    throw new ObjectStoreError(
      `object key has a "." or ".." segment: ${JSON.stringify(key)}`,
      "InvalidKey",
      0,
      false,
      key,
    );
  }
}

function unquote(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}
