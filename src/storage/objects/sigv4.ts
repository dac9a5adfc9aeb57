// AWS Signature Version 4 for S3 on Web Crypto: an own small signer rather than a dependency, as it is
// ~100 lines, needs nothing but crypto.subtle (there on Bun, Deno, Node and in compiled binaries), and lets
// the client sign exactly the headers it sends. Reference: the AWS SigV4 documentation (canonical request,
// string to sign, derived signing key); the S3 example from it is a unit test (tests/storage/objects).
import { toHex } from "./md5.ts";

export type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string | null };

export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

const enc = new TextEncoder();

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
}

async function hmac(key: Uint8Array | string, data: string): Promise<Uint8Array> {
  const raw = typeof key === "string" ? enc.encode(key) : key;
  const k = await crypto.subtle.importKey(
    "raw",
    raw as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
}

/** RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ (and '/' when asked). */
export function uriEncode(s: string, keepSlash: boolean): string {
  let out = "";
  for (const byte of enc.encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += "%" + (byte < 16 ? "0" : "") + byte.toString(16).toUpperCase();
  }
  return out;
}

export type SignInput = {
  method: string;
  url: URL;
  /** Query parameters (not encoded); the URL must carry exactly these, as canonicalQuery() writes them. */
  query?: readonly (readonly [string, string])[];
  /** Lower-case names; every one is signed. `host` is added from the URL. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body, or UNSIGNED_PAYLOAD. */
  payloadHash: string;
  region: string;
  service?: string;
  credentials: Credentials;
  /** Defaults to now. */
  date?: Date;
};

/** The amz date ("20130524T000000Z") and its day. */
export function amzDate(d: Date): { stamp: string; day: string } {
  const stamp = d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { stamp, day: stamp.slice(0, 8) };
}

const keyCache = new Map<string, Uint8Array>();

async function signingKey(secret: string, day: string, region: string, service: string): Promise<Uint8Array> {
  const id = `${day}/${region}/${service}/${secret}`;
  let key = keyCache.get(id);
  if (!key) {
    key = await hmac(await hmac(await hmac(await hmac("AWS4" + secret, day), region), service), "aws4_request");
    if (keyCache.size > 16) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/**
 * Returns the headers to send: the input ones plus host, x-amz-date, x-amz-content-sha256, the session
 * token when there is one, and authorization. The URL's path must already be encoded once (uriEncode with
 * keepSlash), and its search must be canonicalQuery(query): URLSearchParams would write '+' for a space,
 * which servers do not all read back the same way.
 */
export async function signRequest(input: SignInput): Promise<Record<string, string>> {
  const service = input.service ?? "s3";
  const { stamp, day } = amzDate(input.date ?? new Date());
  const headers: Record<string, string> = {
    ...input.headers,
    host: input.url.host,
    "x-amz-date": stamp,
    "x-amz-content-sha256": input.payloadHash,
  };
  if (input.credentials.sessionToken) headers["x-amz-security-token"] = input.credentials.sessionToken;
  const names = Object.keys(headers).map((n) => n.toLowerCase()).sort();
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v.trim().replace(/\s+/g, " ");
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join("");
  const signedHeaders = names.join(";");
  const query = canonicalQuery(input.query ?? []);
  const canonicalRequest = [
    input.method,
    input.url.pathname || "/",
    query,
    canonicalHeaders,
    signedHeaders,
    input.payloadHash,
  ].join("\n");
  const scope = `${day}/${input.region}/${service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${await sha256Hex(canonicalRequest)}`;
  const key = await signingKey(input.credentials.secretAccessKey, day, input.region, service);
  const signature = toHex(await hmac(key, stringToSign));
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** Query parameters encoded and sorted as SigV4 wants them; also what the request's URL carries. */
export function canonicalQuery(query: readonly (readonly [string, string])[]): string {
  return query
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}
