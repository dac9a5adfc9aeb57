// The object data path assembled: one store, a writer whose committed objects feed the reader's cache, a
// reader, and garbage collection that also drops deleted objects from that cache. An engine (the
// PostgreSQL one) gives it its ObjectIndex; memoryObjectIndex() stands in for tests.
import type { ObjectStoreConfig } from "./config.ts";
import { deleteUnreferenced, type GcResult, sweepOrphans } from "./gc.ts";
import { type CompactResult, compactSmallObjects } from "./compact.ts";
import type { CompactableIndex, ObjectIndex } from "./index.ts";
import { ObjectReader } from "./reader.ts";
import { S3ObjectStore } from "./s3.ts";
import type { ObjectStore } from "./store.ts";
import { ObjectWriter, ORPHAN_GRACE_MS } from "./writer.ts";

export type ObjectDataPath = {
  store: ObjectStore;
  writer: ObjectWriter;
  reader: ObjectReader;
  /** The orphan sweep's grace period: what writes an object must reference it in the index well within it. */
  orphanGraceMs: number;
  /** Deletes unreferenced objects, then (with `sweep`) orphans older than the grace period. */
  collect(sweep?: boolean): Promise<GcResult>;
  /** One small-object compaction round (when the index supports it). */
  compact(): Promise<CompactResult | null>;
  /**
   * Starts the background rounds: collect every gcIntervalMs (with an orphan sweep every tenth round), and
   * compact every compactIntervalMs; an interval of 0 turns that work off. Rounds never overlap; failures
   * go to `log` and the next round tries again. close() stops them.
   */
  start(log?: (level: "info" | "warn", message: string) => void): void;
  /** Flushes the writer and stops the background rounds. */
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
  const orphanGraceMs = options.orphanGraceMs ?? config.orphanGraceMs ?? ORPHAN_GRACE_MS;
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
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const running = new Set<Promise<void>>();
  let stopped = false;
  const every = (ms: number, round: () => Promise<void>) => {
    if (!(ms > 0)) return;
    const schedule = () => {
      if (stopped) return;
      const t = setTimeout(async () => {
        timers.delete(t);
        const r = round();
        running.add(r);
        await r;
        running.delete(r);
        schedule();
      }, ms);
      timers.add(t);
    };
    schedule();
  };
  const path: ObjectDataPath = {
    store,
    writer,
    reader,
    orphanGraceMs,
    async collect(sweep = false) {
      const r = await deleteUnreferenced(gc);
      if (sweep) {
        const s = await sweepOrphans(gc);
        r.orphans = s.orphans;
        r.errors.push(...s.errors);
      }
      return r;
    },
    async compact() {
      if (!isCompactable(index)) return null;
      return await compactSmallObjects({
        store,
        index,
        prefix: config.prefix,
        nodeId: options.nodeId,
        targetBytes: config.flushBytes,
        clock,
        orphanGraceMs,
      });
    },
    start(log = () => {}) {
      let rounds = 0;
      const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
      every(config.gcIntervalMs ?? 60000, async () => {
        try {
          const r = await path.collect(rounds++ % 10 === 0);
          if (r.unreferenced.length + r.orphans.length > 0) {
            log(
              "info",
              `object store: deleted ${r.unreferenced.length} unreferenced and ${r.orphans.length} orphan objects`,
            );
          }
          for (const e of r.errors.slice(0, 5)) log("warn", `object store: could not delete ${e.key}: ${e.message}`);
        } catch (e) {
          log("warn", `object store: garbage collection failed, will retry: ${errorText(e)}`);
        }
      });
      every(config.compactIntervalMs ?? 300000, async () => {
        try {
          const r = await path.compact();
          if (r?.newKey) log("info", `object store: compacted ${r.sources.length} small objects into ${r.newKey}`);
        } catch (e) {
          log("warn", `object store: compaction failed, will retry: ${errorText(e)}`);
        }
      });
    },
    async close() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(running);
      await writer.close();
    },
  };
  return path;
}

function isCompactable(index: ObjectIndex): index is CompactableIndex {
  const i = index as Partial<CompactableIndex>;
  return typeof i.smallObjects === "function" && typeof i.moveExtents === "function";
}
