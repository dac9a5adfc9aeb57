// The object data path assembled: one store, a writer whose committed objects feed the reader's cache, a
// reader, and garbage collection that also drops deleted objects from that cache. An engine (the
// PostgreSQL one) gives it its ObjectIndex; memoryObjectIndex() stands in for tests.
import type { ObjectStoreConfig } from "./config.ts";
import { deleteUnreferenced, type GcResult, sweepOrphans } from "./gc.ts";
import type { ObjectIndex } from "./index.ts";
import { ObjectReader } from "./reader.ts";
import { S3ObjectStore } from "./s3.ts";
import type { ObjectStore } from "./store.ts";
import { ObjectWriter, ORPHAN_GRACE_MS } from "./writer.ts";

export type ObjectDataPath = {
  store: ObjectStore;
  writer: ObjectWriter;
  reader: ObjectReader;
  /** Deletes unreferenced objects, then (with `sweep`) orphans older than the grace period. */
  collect(sweep?: boolean): Promise<GcResult>;
  close(): Promise<void>;
};

export function objectDataPath(options: {
  config: ObjectStoreConfig;
  index: ObjectIndex;
  nodeId: number;
  /** Defaults to an S3ObjectStore from config.s3. */
  store?: ObjectStore;
  orphanGraceMs?: number;
  clock?: () => number;
}): ObjectDataPath {
  const { config, index } = options;
  const store = options.store ?? new S3ObjectStore(config.s3);
  const reader = new ObjectReader({ store, index, cacheBytes: config.cacheBytes, blockBytes: config.blockBytes });
  const orphanGraceMs = options.orphanGraceMs ?? ORPHAN_GRACE_MS;
  const clock = options.clock ?? Date.now;
  const writer = new ObjectWriter({
    store,
    hook: index,
    prefix: config.prefix,
    nodeId: options.nodeId,
    flushMs: config.flushMs,
    flushBytes: config.flushBytes,
    orphanGraceMs,
    clock,
    onCommitted: (key, body) => reader.cacheObject(key, body),
  });
  const gc = { store, index, prefix: config.prefix, orphanGraceMs, clock, onDeleted: (k: string) => reader.forget(k) };
  return {
    store,
    writer,
    reader,
    async collect(sweep = false) {
      const r = await deleteUnreferenced(gc);
      if (sweep) {
        const s = await sweepOrphans(gc);
        r.orphans = s.orphans;
        r.errors.push(...s.errors);
      }
      return r;
    },
    close: () => writer.close(),
  };
}
