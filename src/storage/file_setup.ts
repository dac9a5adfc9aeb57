// Opens the file engine on a data dir: checks the directory is ours (or empty, or an older Chronik
// data dir to adopt) before writing anything, takes the lock, opens the metadata store, recovers
// topics from partition directories when the metadata lost records (data_dir.ts), then the engine.
import type { BrokerConfig } from "../config.ts";
import type { FileLock, LogLevel, Runtime } from "../runtime.ts";
import { DEFAULT_LEASE_MS } from "../runtime/lock_file.ts";
import { inspectDataDir, MARKER_FILE, randomId, recoverTopics, setAsideUnclaimed, writeMarker } from "./data_dir.ts";
import type { FileLogStore } from "./file.ts";
import { openFileLogStore } from "./file.ts";
import type { MetadataStore } from "./metadata.ts";
import { openMetadataStore } from "./metadata.ts";
import type { Storage } from "./setup.ts";
import { fileAdminStore } from "./admin.ts";

function num(v: unknown, fallback: number): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export async function openFileStorage(
  runtime: Runtime,
  config: BrokerConfig,
  dataDir: string,
  log: (level: LogLevel, message: string) => void,
  topicConfig: (topic: string, name: string) => string,
  url = `file:${dataDir}`,
): Promise<Storage> {
  const dir = dataDir.replace(/\/+$/, "") || "/";
  const started = runtime.now();
  // Never touch a directory Chronik did not initialise (data_dir.ts): looked at before anything is written.
  await runtime.fs.mkdir(dir);
  const state = await inspectDataDir(runtime.fs, dir);
  // One broker per data dir: a second one would corrupt the first one's logs (Kafka's .lock). The
  // lease makes this hold across PID namespaces and hosts (src/runtime/lock_file.ts).
  let lock: FileLock;
  try {
    lock = await runtime.fs.lock(`${dir}/.lock`, { log });
  } catch (e) {
    if ((e as { code?: string }).code !== "ELOCKED") throw e;
    const holder = (e as { holder?: string }).holder ?? "another process";
    throw new Error(
      `data dir ${dir} is in use by another broker (${holder}); stop it first. If no broker runs, a new start takes the lock over once the lease expires (${
        DEFAULT_LEASE_MS / 1000
      } s unseen), or remove ${dir}/.lock`,
    );
  }
  let metadata: MetadataStore | null = null;
  let file: FileLogStore;
  let clusterId: string;
  try {
    if (state.kind === "empty") {
      clusterId = config.clusterId ?? randomId();
      await writeMarker(runtime.fs, dir, clusterId, config.nodeId);
      log("info", `data dir ${dir}: initialised (${MARKER_FILE} written, cluster id ${clusterId})`);
    }
    metadata = await openMetadataStore(runtime.fs, dir, log);
    if (state.kind === "legacy") {
      clusterId = metadata.clusterId ?? config.clusterId ?? randomId();
      await writeMarker(runtime.fs, dir, clusterId, config.nodeId);
      log("info", `data dir ${dir}: adopted a Chronik data dir from before ${MARKER_FILE} (marker written)`);
    } else if (state.kind === "ours") {
      clusterId = state.clusterId ?? metadata.clusterId ?? config.clusterId ?? randomId();
      if (state.nodeId !== null && state.nodeId !== config.nodeId) {
        log("warn", `data dir ${dir} was initialised by node.id ${state.nodeId}; this broker runs as ${config.nodeId}`);
      }
    }
    await recoverTopics(runtime.fs, dir, metadata, randomId, log);
    file = await openFileLogStore(runtime.fs, dir, {
      now: () => runtime.now(),
      log,
      topicConfig,
      groupCommitMs: num(config["chronik.fsync.group.commit.ms"], 0),
      retentionCheckIntervalMs: num(config["log.retention.check.interval.ms"], 300000),
      cleanerBackoffMs: num(config["log.cleaner.backoff.ms"], 15000),
      cleanerEnabled: config["log.cleaner.enable"] !== false,
      maxOpenFiles: num(config["chronik.log.open.files.max"], 1000),
    });
  } catch (e) {
    await metadata?.close().catch(() => {});
    await lock.release();
    throw e;
  }
  const meta = metadata;
  let loaded = false;
  const mode = config["chronik.fsync.acks.all"] === false
    ? "acks=all answered when the OS has the data"
    : "acks=all answered after a group-commit fsync";
  log("info", `storage: file engine in ${dir} (${mode})`);
  return {
    url,
    kind: "file",
    store: file,
    metadata: meta,
    admin: fileAdminStore(runtime.fs, dir),
    file,
    cluster: null,
    clusterId: clusterId!,
    async removeUnknown(keep) {
      loaded = true;
      await setAsideUnclaimed(runtime.fs, dir, keep, log);
      const s = file.stats;
      log(
        "info",
        `storage: opened in ${runtime.now() - started} ms (${
          s.cleanStart ? "clean" : "unclean"
        } start, ${s.recoveredPartitions} partition(s) scanned, ${s.truncations} torn tail(s) truncated, ${s.indexRebuilds} index rebuild(s))`,
      );
    },
    async close() {
      // Every partition was opened (so recovered) only once the broker got as far as removeUnknown.
      await (loaded ? file.close() : file.closeKeepingRecovery());
      await meta.close();
      await lock.release();
    },
  };
}
