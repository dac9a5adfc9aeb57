// An in-memory ObjectStore with S3's semantics (create-only puts, ranged gets, sorted paged listings) for
// unit tests and diskless runs. `down` makes every request fail as an unreachable server would.
import { md5Hex } from "./md5.ts";
import type { DeleteResult, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from "./store.ts";
import { ObjectStoreError, ObjectStoreStats } from "./store.ts";

export type MemoryObjectStore = ObjectStore & {
  readonly objects: Map<string, { body: Uint8Array; info: ObjectInfo }>;
  /** While true, every request fails with a retriable error (as a network failure would). */
  down: boolean;
};

export function memoryObjectStore(clock: () => number = Date.now): MemoryObjectStore {
  const objects = new Map<string, { body: Uint8Array; info: ObjectInfo }>();
  const stats = new ObjectStoreStats();
  const store: MemoryObjectStore = {
    description: "memory object store",
    stats,
    objects,
    down: false,
    async put(key: string, body: Uint8Array, options: PutOptions = {}) {
      stats.count("put", body.length);
      check(key);
      if (options.ifNoneMatch && objects.has(key)) {
        throw new ObjectStoreError(`${key} exists`, "PreconditionFailed", 412, false, key);
      }
      const info = { key, size: body.length, etag: md5Hex(body), lastModified: clock() };
      objects.set(key, { body: body.slice(), info });
      return { etag: info.etag };
    },
    async get(key: string, range?: { offset: number; length: number }) {
      check(key);
      const o = objects.get(key);
      if (!o) {
        stats.count("get");
        throw new ObjectStoreError(`no such key ${key}`, "NoSuchKey", 404, false, key);
      }
      if (range && range.offset >= o.body.length) {
        stats.count("get");
        throw new ObjectStoreError(`range past end of ${key}`, "InvalidRange", 416, false, key);
      }
      const bytes = range ? o.body.slice(range.offset, range.offset + range.length) : o.body.slice();
      stats.count("get", 0, bytes.length);
      return bytes;
    },
    async head(key: string) {
      stats.count("head");
      check(key);
      const o = objects.get(key);
      return o ? { ...o.info } : null;
    },
    async delete(key: string) {
      stats.count("delete");
      check(key);
      objects.delete(key);
      return;
    },
    async deleteMany(keys: readonly string[]) {
      const result: DeleteResult = { deleted: [], errors: [] };
      for (let i = 0; i < keys.length; i += 1000) {
        stats.count("delete");
        check(keys[i]);
        for (const key of keys.slice(i, i + 1000)) {
          objects.delete(key);
          result.deleted.push(key);
        }
      }
      return result;
    },
    async list(prefix: string, options: ListOptions = {}) {
      stats.count("list");
      check(prefix);
      const after = options.continuationToken ?? options.startAfter ?? "";
      const max = Math.min(options.maxKeys ?? 1000, 1000);
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && compareUtf8(k, after) > 0)
        .sort(compareUtf8);
      const page: ListPage = {
        objects: keys.slice(0, max).map((k) => ({ ...objects.get(k)!.info })),
        nextContinuationToken: keys.length > max ? keys[max - 1] : null,
      };
      return page;
    },
  };
  function check(key: string | undefined): void {
    if (store.down) {
      stats.failures++;
      throw new ObjectStoreError("object store is down", "NetworkError", 0, true, key ?? null);
    }
  }
  return store;
}

const utf8 = new TextEncoder();

/** S3 lists keys in the binary order of their UTF-8 bytes (not JavaScript's UTF-16 order). */
export function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
