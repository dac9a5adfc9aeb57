// The object-store port: what the object data path (writer.ts, reader.ts, gc.ts) needs of S3 or any
// S3-compatible service. Two implementations: s3.ts (HTTP + SigV4 over Web fetch) and memory.ts (tests).
// Every implementation keeps the same counters, so "requests per GB" reads the same everywhere.

export type ObjectInfo = {
  key: string;
  size: number;
  /** Entity tag without quotes (MD5 of the body for a single-part PUT on most servers). */
  etag: string;
  /** Milliseconds since the epoch. */
  lastModified: number;
};

export type PutOptions = {
  /**
   * Create only: the write fails with code "PreconditionFailed" when the key exists (`If-None-Match: *`).
   * Writers use fresh keys, so this turns a key collision (or a replayed write) into an error instead of
   * an overwrite.
   */
  ifNoneMatch?: boolean;
  contentType?: string;
};

export type ListPage = {
  objects: ObjectInfo[];
  /** Pass back as `continuationToken` for the next page; null when this was the last page. */
  nextContinuationToken: string | null;
};

export type ListOptions = {
  continuationToken?: string | null;
  startAfter?: string;
  /** At most 1000 (S3's cap). */
  maxKeys?: number;
};

export type DeleteResult = {
  deleted: string[];
  errors: { key: string; code: string; message: string }[];
};

export interface ObjectStore {
  /** A short description for logs ("s3://bucket/prefix at http://127.0.0.1:7070"), never credentials. */
  readonly description: string;
  readonly stats: ObjectStoreStats;
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<{ etag: string }>;
  /**
   * The object, or `length` bytes from `offset` (a ranged GET). A range that runs past the end is cut at
   * the end; one that starts at or past the end fails with code "InvalidRange". A missing key fails with
   * code "NoSuchKey".
   */
  get(key: string, range?: { offset: number; length: number }): Promise<Uint8Array>;
  /** The object's size and tag, or null when there is no such key. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Deletes one key; deleting a missing key succeeds (S3's rule). */
  delete(key: string): Promise<void>;
  /** Deletes many keys, 1000 per request; per-key failures come back in `errors`. */
  deleteMany(keys: readonly string[]): Promise<DeleteResult>;
  /** One page of the keys under `prefix`, in UTF-8 binary order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
}

/** Pages through every key under `prefix`. */
export async function* listAll(store: ObjectStore, prefix: string, startAfter?: string): AsyncGenerator<ObjectInfo> {
  let token: string | null = null;
  do {
    const page: ListPage = await store.list(prefix, { continuationToken: token, startAfter });
    yield* page.objects;
    token = page.nextContinuationToken;
  } while (token !== null);
}

/**
 * A failed object-store request. `retriable` says whether trying again later can succeed (5xx, throttling,
 * a network error or time-out); the produce path answers such failures with a retriable Kafka error.
 */
export class ObjectStoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly retriable: boolean,
    readonly key: string | null = null,
    readonly requestId: string | null = null,
    /** True when an earlier attempt of the same request may have taken effect (a retry after a lost answer). */
    readonly afterRetry = false,
  ) {
    super(message);
    this.name = "ObjectStoreError";
  }
}

export type ObjectOp = "put" | "get" | "head" | "delete" | "list";

/** Requests and bytes by kind of request. Retries count as requests: they cost the same. */
export class ObjectStoreStats {
  requests: Record<ObjectOp, number> = { put: 0, get: 0, head: 0, delete: 0, list: 0 };
  /** Body bytes sent (put) and received (get). */
  bytesOut = 0;
  bytesIn = 0;
  /** Attempts that failed and were tried again. */
  retries = 0;
  /** Requests that failed for good. */
  failures = 0;

  count(op: ObjectOp, bytesOut = 0, bytesIn = 0): void {
    this.requests[op]++;
    this.bytesOut += bytesOut;
    this.bytesIn += bytesIn;
  }

  snapshot(): ObjectStatsSnapshot {
    return {
      requests: { ...this.requests },
      bytesOut: this.bytesOut,
      bytesIn: this.bytesIn,
      retries: this.retries,
      failures: this.failures,
    };
  }
}

export type ObjectStatsSnapshot = {
  requests: Record<ObjectOp, number>;
  bytesOut: number;
  bytesIn: number;
  retries: number;
  failures: number;
};

const GB = 1 << 30;

/** PUTs per GiB written and GETs per GiB read between two snapshots: what object storage bills. */
export function requestsPerGB(
  before: ObjectStatsSnapshot,
  after: ObjectStatsSnapshot,
): { putsPerGB: number; getsPerGB: number } {
  const out = after.bytesOut - before.bytesOut;
  const inn = after.bytesIn - before.bytesIn;
  return {
    putsPerGB: out === 0 ? 0 : (after.requests.put - before.requests.put) / (out / GB),
    getsPerGB: inn === 0 ? 0 : (after.requests.get - before.requests.get) / (inn / GB),
  };
}
