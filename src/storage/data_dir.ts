// What the broker may touch in its data dir, and how it puts topics and directories back in order
// at start (docs/storage.md, "Data dir").
// - `meta.properties` marks a directory Chronik initialised (as Kafka's log dirs carry one: version,
//   cluster.id, node.id, directory.id, plus chronik.format). It is written atomically when the
//   broker initialises an empty directory, or adopts a Chronik data dir from before the marker
//   (one with __chronik_metadata/ or chronik.state). Any other non-empty directory is refused
//   before anything is written to it, an Apache Kafka log dir (meta.properties without
//   chronik.format) included.
// - Nothing in the data dir is deleted at start, except what the file engine itself renamed aside to
//   delete (`<topic>-<p>.<32 hex>-delete`, storage/file.ts). A directory no topic claims is renamed aside
//   to `<name>.<32 hex>-stray` (Kafka's naming for stray replicas) and logged.
// - When the metadata store lost records (damaged or missing files), partition directories no topic
//   claims are recovered as topics: partition count from the directories, configs default (logged).
import type { FileSystem, LogLevel } from "../runtime.ts";
import type { MetadataStore, TopicMeta } from "./metadata.ts";
import { METADATA_DIR } from "./metadata.ts";

export const MARKER_FILE = "meta.properties";
const FORMAT = "1";
/** Entries a directory may hold and still count as empty. */
const IGNORED = new Set([".lock", ".lock.flock", "lost+found"]);
const PARTITION_DIR = /^(.+)-(\d+)$/;
const SEGMENT_FILE = /^\d{20}\.log$/;
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

type Log = (level: LogLevel, message: string) => void;

export type DataDirState =
  | { kind: "ours"; clusterId: string | null; nodeId: number | null }
  | { kind: "empty" }
  | { kind: "legacy" };

/** Why the broker refuses a data dir, in one line with what to do. */
export class DataDirRefused extends Error {}

function parseProperties(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === "" || t.startsWith("#") || t.startsWith("!")) continue;
    const i = t.search(/[=:]/);
    if (i > 0) m.set(t.slice(0, i).trim(), t.slice(i + 1).trim());
  }
  return m;
}

/** Looks at `dir` without writing anything: ours, empty (to initialise), a Chronik dir to adopt, or refused. */
export async function inspectDataDir(fs: FileSystem, dir: string): Promise<DataDirState> {
  const marker = await fs.readFile(`${dir}/${MARKER_FILE}`);
  if (marker) {
    const p = parseProperties(new TextDecoder().decode(marker));
    if (!p.has("chronik.format")) {
      throw new DataDirRefused(
        `data dir ${dir} holds a ${MARKER_FILE} without chronik.format: it is an Apache Kafka log dir (or another program's); Chronik does not touch it. Use an empty or new directory for --data-dir`,
      );
    }
    const nodeId = p.has("node.id") ? Number(p.get("node.id")) : null;
    return { kind: "ours", clusterId: p.get("cluster.id") ?? null, nodeId };
  }
  const entries = (await fs.list(dir)).filter((e) => !IGNORED.has(e.name));
  if (entries.length === 0) return { kind: "empty" };
  if (entries.some((e) => (e.name === METADATA_DIR && e.isDirectory) || e.name === "chronik.state")) {
    return { kind: "legacy" };
  }
  const shown = entries.slice(0, 5).map((e) => e.name + (e.isDirectory ? "/" : "")).join(", ");
  throw new DataDirRefused(
    `data dir ${dir} is not empty (${shown}${
      entries.length > 5 ? ", …" : ""
    }) and has no ${MARKER_FILE}, so Chronik did not initialise it; refusing to touch it. Point --data-dir at an empty or new directory, or at a Chronik data dir`,
  );
}

/** A random UUID in Kafka's base64url form (cluster, directory and topic ids). */
export function randomId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Writes the marker atomically. */
export async function writeMarker(fs: FileSystem, dir: string, clusterId: string, nodeId: number): Promise<void> {
  const directoryId = randomId();
  const text = [
    "# Written by Chronik Stream when it initialised this data directory. Chronik only starts on a",
    "# directory that has this file (or is empty); do not copy it into another directory.",
    "version=1",
    `cluster.id=${clusterId}`,
    `node.id=${nodeId}`,
    `directory.id=${directoryId}`,
    `chronik.format=${FORMAT}`,
    "",
  ].join("\n");
  await fs.writeFileAtomic(`${dir}/${MARKER_FILE}`, new TextEncoder().encode(text));
}

function strayName(name: string): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `${name}.${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}-stray`;
}

/** Renames a directory aside (never deletes it) and logs where it went. */
async function setAside(fs: FileSystem, dir: string, name: string, why: string, log: Log): Promise<void> {
  const to = strayName(name);
  await fs.rename(`${dir}/${name}`, `${dir}/${to}`);
  log(
    "warn",
    `data dir: ${why}; renamed ${dir}/${name} to ${to} (nothing deleted; remove it yourself when not needed)`,
  );
}

/** A directory that looks like a partition's: named <topic>-<n> and empty or holding segment files. */
async function partitionDirs(fs: FileSystem, dir: string): Promise<{ name: string; topic: string; p: number }[]> {
  const out: { name: string; topic: string; p: number }[] = [];
  for (const e of await fs.list(dir)) {
    const m = PARTITION_DIR.exec(e.name);
    if (!e.isDirectory || !m || e.name === METADATA_DIR) continue;
    out.push({ name: e.name, topic: m[1], p: Number(m[2]) });
  }
  return out;
}

const INTERNAL_CONFIGS: Record<string, string> = { "cleanup.policy": "compact", "compression.type": "producer" };

/**
 * When the metadata store lost records, turns partition directories that no stored topic claims into
 * topics again (or extends a topic's partition count to its directories). New topic ids; configs
 * default (internal `__` topics: compacted, as the broker creates them). Returns the topics recovered.
 */
export async function recoverTopics(
  fs: FileSystem,
  dir: string,
  metadata: MetadataStore,
  newId: () => string,
  log: Log,
): Promise<string[]> {
  if (!metadata.damage) return [];
  const known = new Map(metadata.topics().map((t) => [t.name, t]));
  const found = new Map<string, number>();
  for (const d of await partitionDirs(fs, dir)) {
    if (!LEGAL_TOPIC.test(d.topic)) continue;
    const files = await fs.list(`${dir}/${d.name}`);
    if (files.length > 0 && !files.some((f) => SEGMENT_FILE.test(f.name))) continue; // not a partition's
    found.set(d.topic, Math.max(found.get(d.topic) ?? 0, d.p + 1));
  }
  const recovered: string[] = [];
  for (const [name, partitions] of found) {
    const t = known.get(name);
    if (t && t.partitions >= partitions) continue;
    const meta: TopicMeta = t
      ? { ...t, partitions }
      : { name, id: newId(), partitions, configs: name.startsWith("__") ? { ...INTERNAL_CONFIGS } : {} };
    await metadata.putTopic(meta);
    recovered.push(name);
    log(
      "warn",
      t
        ? `metadata: topic ${name} has partition directories up to ${
          partitions - 1
        }; its partition count is now ${partitions} (the metadata lost it)`
        : `metadata: recovered topic ${name} (${partitions} partition(s)) from its partition directories; its configs and topic id were lost with the metadata (${
          name.startsWith("__") ? "internal topic configs" : "broker defaults"
        } apply, new id ${meta.id}): set its configs again with AlterConfigs / kafka-configs.sh`,
    );
  }
  if (recovered.length > 0) {
    log("warn", `metadata: ${metadata.damage}; ${recovered.length} topic(s) recovered from partition directories`);
  }
  return recovered;
}

/** Renames aside the partition-like directories that no topic claims once topics are loaded. */
export async function setAsideUnclaimed(
  fs: FileSystem,
  dir: string,
  claims: (topic: string, partition: number) => boolean,
  log: Log,
): Promise<void> {
  for (const d of await partitionDirs(fs, dir)) {
    if (claims(d.topic, d.p)) continue;
    await setAside(fs, dir, d.name, "no topic claims this directory", log);
  }
}
