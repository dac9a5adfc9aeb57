// Object-store settings by their Kafka-style names, with the usual AWS_* environment variables as
// fallbacks. src/ reads no environment: the CLI/adapter passes the variables in (`env`).
//
//   chronik.object.store           s3://bucket/prefix (the prefix may be empty)
//   chronik.s3.endpoint            e.g. http://127.0.0.1:7070; default AWS (https://s3.<region>.amazonaws.com)
//   chronik.s3.region              default AWS_REGION, AWS_DEFAULT_REGION, then us-east-1
//   chronik.s3.access.key.id       default AWS_ACCESS_KEY_ID
//   chronik.s3.secret.access.key   default AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN is used when set)
//   chronik.s3.path.style          true/false; default true with an explicit endpoint, false for AWS
//   chronik.object.flush.ms        250     cut an object this long after the first waiting append
//   chronik.object.flush.bytes     8388608 ... or as soon as this much is waiting
//   chronik.object.cache.bytes     268435456  read cache bound
//   chronik.object.cache.block.bytes 1048576 read cache block (one ranged GET fetches whole blocks)
//   chronik.object.gc.interval.ms  60000   delete unreferenced objects this often (0: only when asked)
//   chronik.object.orphan.grace.ms 3600000 objects never committed are deleted once this old
//   chronik.object.compact.interval.ms 300000 small-object compaction rounds (0: off)
import type { S3Options } from "./s3.ts";
import { DEFAULT_BLOCK_BYTES, DEFAULT_CACHE_BYTES } from "./reader.ts";
import { DEFAULT_FLUSH_BYTES, DEFAULT_FLUSH_MS, ORPHAN_GRACE_MS } from "./writer.ts";

export type ObjectStoreConfig = {
  s3: S3Options;
  /** Key prefix inside the bucket, without leading or trailing slash ("" for none). */
  prefix: string;
  flushMs: number;
  flushBytes: number;
  cacheBytes: number;
  blockBytes: number;
  /** Background work (objectDataPath().start()); absent means the defaults. */
  gcIntervalMs?: number;
  orphanGraceMs?: number;
  compactIntervalMs?: number;
};

export const OBJECT_CONFIG_DEFAULTS = {
  "chronik.object.flush.ms": DEFAULT_FLUSH_MS,
  "chronik.object.flush.bytes": DEFAULT_FLUSH_BYTES,
  "chronik.object.cache.bytes": DEFAULT_CACHE_BYTES,
  "chronik.object.cache.block.bytes": DEFAULT_BLOCK_BYTES,
  "chronik.object.gc.interval.ms": 60000,
  "chronik.object.orphan.grace.ms": ORPHAN_GRACE_MS,
  "chronik.object.compact.interval.ms": 300000,
} as const;

/** Settings whose values are secret: never logged nor shown by DescribeConfigs. */
export const SECRET_OBJECT_CONFIGS = ["chronik.s3.secret.access.key"];

/**
 * The object-store configuration, or null when `chronik.object.store` is not set. Throws an Error naming
 * the setting for anything malformed or missing.
 */
export function objectStoreConfig(
  config: Record<string, unknown>,
  env: Record<string, string | undefined> = {},
): ObjectStoreConfig | null {
  const url = str(config, "chronik.object.store");
  if (url === null) return null;
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`chronik.object.store must look like s3://bucket/prefix, not ${JSON.stringify(url)}`);
  const bucket = m[1];
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  const endpoint = str(config, "chronik.s3.endpoint") ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ??
    nonEmpty(env.AWS_ENDPOINT_URL);
  const region = str(config, "chronik.s3.region") ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ??
    "us-east-1";
  const accessKeyId = str(config, "chronik.s3.access.key.id") ?? nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = str(config, "chronik.s3.secret.access.key") ?? nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId === null || secretAccessKey === null) {
    throw new Error(
      "chronik.object.store needs credentials: chronik.s3.access.key.id and chronik.s3.secret.access.key " +
        "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    );
  }
  if (endpoint !== null) {
    try {
      const u = new URL(endpoint);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    } catch {
      throw new Error(`chronik.s3.endpoint must be an http(s) URL, not ${JSON.stringify(endpoint)}`);
    }
  }
  const pathStyleSetting = config["chronik.s3.path.style"];
  let pathStyle = endpoint !== null;
  if (pathStyleSetting !== undefined && pathStyleSetting !== null) {
    if (pathStyleSetting === true || pathStyleSetting === "true") pathStyle = true;
    else if (pathStyleSetting === false || pathStyleSetting === "false") pathStyle = false;
    else throw new Error(`chronik.s3.path.style must be true or false, not ${JSON.stringify(pathStyleSetting)}`);
  }
  // A commit or compaction move refers to its new object at most half the grace period after making it
  // (writer.ts ensureReferableInTime); the index statement must end within the other half, or the orphan sweep
  // may delete the object the statement then points the index at. PostgreSQL statements are bounded by
  // chronik.postgres.request.timeout.ms (0: unbounded), checked here when it is set.
  const orphanGraceMs = int(config, "chronik.object.orphan.grace.ms", 60000);
  const pgTimeout = config["chronik.postgres.request.timeout.ms"];
  if (pgTimeout !== undefined && pgTimeout !== null && pgTimeout !== "") {
    const n = Number(pgTimeout);
    if (!(n > 0 && n < orphanGraceMs / 2)) {
      throw new Error(
        `chronik.postgres.request.timeout.ms must be above 0 and below half of chronik.object.orphan.grace.ms ` +
          `(${orphanGraceMs}) with an object store, not ${String(pgTimeout)}: a slower index statement could ` +
          `refer to an object the orphan sweep deletes`,
      );
    }
  }
  return {
    s3: {
      bucket,
      region,
      endpoint,
      credentials: { accessKeyId, secretAccessKey, sessionToken: nonEmpty(env.AWS_SESSION_TOKEN) },
      pathStyle,
    },
    prefix,
    flushMs: int(config, "chronik.object.flush.ms", 0),
    flushBytes: int(config, "chronik.object.flush.bytes", 1),
    cacheBytes: int(config, "chronik.object.cache.bytes", 0),
    blockBytes: int(config, "chronik.object.cache.block.bytes", 1),
    gcIntervalMs: int(config, "chronik.object.gc.interval.ms", 0),
    orphanGraceMs,
    compactIntervalMs: int(config, "chronik.object.compact.interval.ms", 0),
  };
}

function str(config: Record<string, unknown>, name: string): string | null {
  const v = config[name];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string") throw new Error(`${name} must be a string`);
  return v;
}

function nonEmpty(v: string | undefined): string | null {
  return v === undefined || v === "" ? null : v;
}

function int(config: Record<string, unknown>, name: keyof typeof OBJECT_CONFIG_DEFAULTS, min: number): number {
  const v = config[name] ?? OBJECT_CONFIG_DEFAULTS[name];
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, not ${String(v)}`);
  return n;
}
