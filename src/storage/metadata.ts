// Cluster metadata that must survive a restart: the cluster id and each topic's name, id, partition
// count and configs. On disk (`<data dir>/__chronik_metadata/`): an append-only log of records, each
// framed as int32 length, uint32 CRC32C, JSON, and fsynced before the change is acknowledged (changes
// asked for while an fsync runs go to disk together, one append and one fsync: group commit); every
// SNAPSHOT_EVERY records the whole state goes to `snapshot.json` (written atomically) and the log
// starts over. Records carry a sequence number, so a crash between the snapshot and the log reset
// replays nothing twice. A torn or corrupt tail of the log is truncated at start (logged, and the
// damaged log copied aside first as `log.damaged-<time>`); an unreadable snapshot is renamed aside
// (`snapshot.json.damaged-<time>`). Either way `damage` says what was lost, and the data dir's
// partition directories are then trusted over the metadata (data_dir.ts recovers topics from them).
// Write failures (docs/storage.md, "Failures"): a change is applied only once its record is fsynced.
// A write refused for want of space is undone and the change rejected (the broker answers
// KAFKA_STORAGE_ERROR); later changes go through once space is freed. A failed fsync, or any other
// failure, takes the metadata log offline: every later change is rejected until restart (a failed
// fsync is never retried as if the record were safe). A failed snapshot only delays the next one.
import { crc32c } from "../protocol/crc32c.ts";
import { concatChunks } from "../protocol/writer.ts";
import type { FileHandle, FileSystem, LogLevel } from "../runtime.ts";
import { errText, isNoSpace, storageError } from "./store.ts";

export const METADATA_DIR = "__chronik_metadata";
const SNAPSHOT_EVERY = 1000;

export type TopicMeta = { name: string; id: string; partitions: number; configs: Record<string, string> };

type MetaOp =
  | { op: "cluster"; clusterId: string }
  | { op: "topic"; topic: TopicMeta }
  | { op: "delete"; name: string };
type MetaRecord = MetaOp & { seq: number };

type Snapshot = { seq: number; clusterId: string | null; topics: TopicMeta[] };

export interface MetadataStore {
  readonly clusterId: string | null;
  /** Why records may have been lost at open (damaged or missing files), or null when the store was whole. */
  readonly damage?: string | null;
  /** Topics as last stored, in creation order. */
  topics(): TopicMeta[];
  setClusterId(id: string): Promise<void>;
  /**
   * Creates or replaces a topic's record (partition count, configs). A shared store (PostgreSQL)
   * refuses a record whose name another broker holds under another id: rejects with code "TOPIC_EXISTS".
   */
  putTopic(topic: TopicMeta): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  /** Re-reads what other brokers may have changed (shared engines: PostgreSQL); others leave it out. */
  refresh?(): Promise<void>;
  close(): Promise<void>;
}

/** Keeps metadata in memory only (no data dir). */
export function memoryMetadataStore(): MetadataStore {
  const topics = new Map<string, TopicMeta>();
  let clusterId: string | null = null;
  return {
    get clusterId() {
      return clusterId;
    },
    topics: () => [...topics.values()],
    setClusterId(id) {
      clusterId = id;
      return Promise.resolve();
    },
    putTopic(t) {
      topics.set(t.name, structuredClone(t));
      return Promise.resolve();
    },
    deleteTopic(name) {
      topics.delete(name);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function frame(rec: MetaRecord): Uint8Array {
  const body = enc.encode(JSON.stringify(rec));
  const out = new Uint8Array(8 + body.length);
  const v = new DataView(out.buffer);
  v.setInt32(0, body.length);
  out.set(body, 8);
  v.setUint32(4, crc32c(out, 8, out.length));
  return out;
}

/** Opens (creating) the metadata store under `dataDir`. */
export async function openMetadataStore(
  fs: FileSystem,
  dataDir: string,
  log: (level: LogLevel, message: string) => void = () => {},
): Promise<MetadataStore> {
  const dir = `${dataDir.replace(/\/+$/, "")}/${METADATA_DIR}`;
  const damages: string[] = [];
  if (!(await fs.stat(dir))) damages.push(`${dir} was missing`);
  await fs.mkdir(dir);
  const snapPath = `${dir}/snapshot.json`;
  const logPath = `${dir}/log`;
  const state: Snapshot = { seq: 0, clusterId: null, topics: [] };
  const snap = await fs.readFile(snapPath);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  if (snap) {
    try {
      const s = JSON.parse(dec.decode(snap)) as Snapshot;
      if (typeof s.seq !== "number" || !Array.isArray(s.topics)) throw new Error("not a metadata snapshot");
      Object.assign(state, s);
    } catch (e) {
      const aside = `${snapPath}.damaged-${stamp}`;
      await fs.rename(snapPath, aside);
      damages.push(`${snapPath} was unreadable (${e instanceof Error ? e.message : String(e)}), moved to ${aside}`);
      log("error", `${snapPath} is unreadable; moved it to ${aside}`);
    }
  }
  const topics = new Map<string, TopicMeta>(state.topics.map((t) => [t.name, t]));
  let clusterId = state.clusterId;
  let seq = state.seq;
  const apply = (r: MetaRecord) => {
    if (r.op === "cluster") clusterId = r.clusterId;
    else if (r.op === "topic") {
      topics.delete(r.topic.name); // a re-created topic moves to the end
      topics.set(r.topic.name, r.topic);
    } else topics.delete(r.name);
  };

  const h: FileHandle = await fs.open(logPath, { create: true });
  const bytes = await h.read(0, await h.size());
  let pos = 0;
  let records = 0;
  while (pos + 8 <= bytes.length) {
    const v = new DataView(bytes.buffer, bytes.byteOffset + pos);
    const len = v.getInt32(0);
    if (len < 0 || pos + 8 + len > bytes.length || v.getUint32(4) !== crc32c(bytes, pos + 8, pos + 8 + len)) break;
    let r: MetaRecord;
    try {
      r = JSON.parse(dec.decode(bytes.subarray(pos + 8, pos + 8 + len)));
    } catch {
      break;
    }
    if (r.seq > seq) {
      apply(r);
      seq = r.seq;
    }
    records++;
    pos += 8 + len;
  }
  if (pos < bytes.length) {
    const aside = `${logPath}.damaged-${stamp}`;
    await fs.writeFileAtomic(aside, bytes);
    damages.push(`${logPath} had a torn or corrupt tail of ${bytes.length - pos} bytes at position ${pos}`);
    log(
      "warn",
      `${logPath}: truncating a torn or corrupt tail of ${
        bytes.length - pos
      } bytes at position ${pos} (a copy of the whole log is in ${aside})`,
    );
    await h.truncate(pos);
    await h.sync();
  }

  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn);
    queue = p.catch(() => {});
    return p;
  };
  let size = pos;
  let offline: Error | null = null;
  let diskFull = false;
  const goOffline = (e: unknown, what: string) => {
    if (offline) return;
    offline = e instanceof Error ? e : new Error(String(e));
    log(
      "error",
      `metadata log ${logPath} is offline: ${what} (${
        errText(e)
      }). Topic and config changes are refused (KAFKA_STORAGE_ERROR) until restart; every change acknowledged before is on disk. Fix the disk, then restart the broker.`,
    );
  };

  /**
   * Group commit: changes asked for while the log is busy (an append and fsync in progress) wait
   * together and go to disk as one append and one fsync. One change at a time costs an fsync and a few
   * event-loop turns each: a burst of topic creations (a Metadata request auto-creating 30 topics,
   * hundreds of clients at start-up) then queued behind each other for minutes on a busy machine.
   */
  let batch: { rec: MetaOp; resolve: () => void; reject: (e: unknown) => void }[] = [];
  function write(rec: MetaOp): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      batch.push({ rec, resolve, reject });
      // The first change of a batch queues its flush; later ones ride along until it starts.
      if (batch.length === 1) void serial(flush);
    });
  }

  async function flush(): Promise<void> {
    const mine = batch;
    batch = [];
    try {
      await commit(mine.map((w) => w.rec));
    } catch (e) {
      for (const w of mine) w.reject(e);
      return;
    }
    for (const w of mine) w.resolve();
  }

  /** Appends and fsyncs `recs` as one write; applies them once durable. All or none. */
  async function commit(recs: MetaOp[]): Promise<void> {
    if (offline) throw storageError(`metadata log ${logPath} is offline: ${offline.message}`);
    const rs = recs.map((rec, i) => ({ ...rec, seq: seq + 1 + i }) as MetaRecord);
    const f = concatChunks(rs.map(frame));
    let phase = "write";
    try {
      await h.append(f);
      phase = "fsync";
      await h.sync();
    } catch (e) {
      const undone = await h.truncate(size).then(() => true, () => false);
      if (phase === "write" && undone && isNoSpace(e)) {
        if (!diskFull) {
          diskFull = true;
          log(
            "error",
            `metadata log ${logPath}: disk full (${
              errText(e)
            }); topic and config changes are refused (KAFKA_STORAGE_ERROR) until space is freed`,
          );
        }
        throw storageError(`metadata log ${logPath}: ${errText(e)}`);
      }
      goOffline(e, undone ? `${phase} failed` : `${phase} failed and could not be undone`);
      throw storageError(`metadata log ${logPath} is offline: ${errText(e)}`);
    }
    if (diskFull) {
      diskFull = false;
      log("info", `metadata log ${logPath}: writes succeed again`);
    }
    size += f.length;
    for (const r of rs) {
      seq = r.seq;
      apply(r);
      records++;
    }
    if (records >= SNAPSHOT_EVERY) {
      // The change is durable already: a failed snapshot delays the next one, it fails no change.
      const s: Snapshot = { seq, clusterId, topics: [...topics.values()] };
      try {
        await fs.writeFileAtomic(snapPath, enc.encode(JSON.stringify(s)));
      } catch (e) {
        if (isNoSpace(e)) {
          log("warn", `${snapPath}: snapshot not written (${errText(e)}); retried at the next change`);
        } else goOffline(e, "writing the snapshot failed");
        return;
      }
      try {
        await h.truncate(0);
        size = 0;
        records = 0;
        await h.sync();
      } catch (e) {
        // The snapshot holds every record (replay skips records it covers), but the log file is
        // in an unknown state: no more changes on it.
        goOffline(e, "resetting the log after a snapshot failed");
      }
    }
  }

  if (!snap && bytes.length === 0 && damages.length === 0) damages.push(`${dir} holds no records`);
  return {
    get clusterId() {
      return clusterId;
    },
    damage: damages.length > 0 ? damages.join("; ") : null,
    topics: () => [...topics.values()].map((t) => structuredClone(t)),
    setClusterId: (id) => write({ op: "cluster", clusterId: id }),
    putTopic: (t) => write({ op: "topic", topic: structuredClone(t) }),
    deleteTopic: (name) => write({ op: "delete", name }),
    async close() {
      await queue;
      await h.close();
    },
  };
}
