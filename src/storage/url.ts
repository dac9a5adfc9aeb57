// Storage URLs, parsed in one place. The broker runs on exactly one:
//   file:<dir>            the embedded file engine in <dir> (file:./data, file:/var/lib/chronik,
//                         file:///var/lib/chronik); `--data-dir <dir>` means the same
//   memory:               everything in memory, gone at exit (`--data-dir :memory:` too)
//   postgres://user:pass@host:port/db[?pool=N]   everything in PostgreSQL (postgresql:// too)
// An object store for record data (s3://…, chronik.object.store) is a separate setting, not a storage URL.
import type { BrokerConfig } from "../config.ts";
import type { PgConfig } from "./postgres/client.ts";
import { parsePostgresUrl, redact } from "./postgres/client.ts";

export type StorageUrl =
  | { kind: "memory"; url: string }
  | { kind: "file"; url: string; dir: string }
  | { kind: "postgres"; url: string; pg: PgConfig };

export const STORAGE_SCHEMES = ["file:", "memory:", "postgres://"] as const;

export function parseStorageUrl(url: string): StorageUrl {
  if (url === "memory:" || url === "memory://") return { kind: "memory", url: "memory:" };
  if (url.startsWith("file:")) {
    let dir = url.slice("file:".length);
    if (dir.startsWith("//")) {
      // file:///abs/path (empty host) or file://localhost/abs/path
      const rest = dir.slice(2);
      const slash = rest.indexOf("/");
      const host = slash < 0 ? rest : rest.slice(0, slash);
      if (host !== "" && host !== "localhost") throw new Error(`storage URL ${url}: a file: URL names no host`);
      dir = slash < 0 ? "" : decodeURIComponent(rest.slice(slash));
    }
    if (dir === "") throw new Error(`storage URL ${url} names no directory (file:./data, file:/var/lib/chronik)`);
    return { kind: "file", url: `file:${dir}`, dir };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    return { kind: "postgres", url: redact(url), pg: parsePostgresUrl(url) };
  }
  throw new Error(
    `storage URL ${redact(url)}: unknown scheme (expected file:<dir>, memory: or postgres://user:pass@host:port/db)`,
  );
}

/**
 * The broker's storage: `storage` when given, else the data dir as a file: URL, else memory.
 * (startBroker without either keeps everything in memory; the command line defaults to file:./data.)
 */
export function storageOf(config: Pick<BrokerConfig, "dataDir"> & { storage?: unknown }): StorageUrl {
  if (typeof config.storage === "string" && config.storage !== "") return parseStorageUrl(config.storage);
  if (config.dataDir !== null && config.dataDir !== undefined) return parseStorageUrl(`file:${config.dataDir}`);
  return { kind: "memory", url: "memory:" };
}
