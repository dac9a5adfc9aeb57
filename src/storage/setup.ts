// Picks and opens the storage the broker runs on: the file engine under config.dataDir
// (file_setup.ts: the data dir's marker, lock, metadata recovery, stray directories), or memory when
// dataDir is null (programmatic startBroker without one; tests).
import type { BrokerConfig } from "../config.ts";
import type { LogLevel, Runtime } from "../runtime.ts";
import type { FileLogStore } from "./file.ts";
import { openFileStorage } from "./file_setup.ts";
import { memoryLogStore } from "./memory.ts";
import type { MetadataStore } from "./metadata.ts";
import { memoryMetadataStore } from "./metadata.ts";
import type { LogStore } from "./store.ts";

export type Storage = {
  store: LogStore;
  metadata: MetadataStore;
  /** The file engine, when there is a data dir (stats, retention and compaction hooks). */
  file: FileLogStore | null;
  /** The cluster id in the data dir's meta.properties (null without a data dir). */
  clusterId: string | null;
  /** Call once topics are loaded: renames aside (never deletes) partition directories no topic claims. */
  removeUnknown(keep: (topic: string, partition: number) => boolean): Promise<void>;
  close(): Promise<void>;
};

export async function openStorage(
  runtime: Runtime,
  config: BrokerConfig,
  log: (level: LogLevel, message: string) => void,
  topicConfig: (topic: string, name: string) => string,
): Promise<Storage> {
  if (config.dataDir === null) {
    const store = memoryLogStore();
    return {
      store,
      metadata: memoryMetadataStore(),
      file: null,
      clusterId: null,
      removeUnknown: async () => {},
      close: () => store.close(),
    };
  }
  return openFileStorage(runtime, config, config.dataDir, log, topicConfig);
}
