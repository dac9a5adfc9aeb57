// Where admin state survives restarts: dynamic broker configs, client quotas, finalized feature
// levels, SCRAM credentials (salts, iteration counts, StoredKey/ServerKey; never passwords), ACLs.
// Storage keeps it as one opaque JSON document (src/broker/config/store.ts gives its shape), written
// whole on each change: small and rarely written. Every engine has one (setup.ts hands it out).
// File engine: `<data dir>/__chronik_metadata/admin.json`, written atomically (temp file, sync,
// rename) beside the metadata store's files. Memory: kept in memory. PostgreSQL: postgres/metadata.ts.
import type { FileSystem } from "../runtime.ts";

/** The admin document: a JSON object with a format version. */
export type AdminDocument = { version: number; [part: string]: unknown };

export interface AdminStore {
  load(): Promise<AdminDocument | null>;
  /** Saves are applied in call order; each writes the whole document. */
  save(doc: AdminDocument): Promise<void>;
}

/** Path under the data directory, beside the metadata store's files. */
export const ADMIN_FILE = "__chronik_metadata/admin.json";

export function fileAdminStore(fs: FileSystem, dataDir: string): AdminStore {
  const dir = `${dataDir.replace(/\/+$/, "")}/__chronik_metadata`;
  const path = `${dataDir.replace(/\/+$/, "")}/${ADMIN_FILE}`;
  let chain: Promise<void> = Promise.resolve();
  return {
    async load() {
      const bytes = await fs.readFile(path);
      if (bytes === null) return null;
      return JSON.parse(new TextDecoder().decode(bytes)) as AdminDocument;
    },
    save(doc) {
      const data = new TextEncoder().encode(JSON.stringify(doc, null, 1));
      const next = chain.then(async () => {
        await fs.mkdir(dir);
        // SCRAM keys and ACLs: readable by the broker's user only.
        await fs.writeFileAtomic(path, data, { mode: 0o600 });
      });
      chain = next.catch(() => {});
      return next;
    },
  };
}

/** For a broker without a data directory. */
export function memoryAdminStore(): AdminStore {
  let kept: AdminDocument | null = null;
  return {
    load: () => Promise.resolve(kept === null ? null : structuredClone(kept)),
    save(s) {
      kept = structuredClone(s);
      return Promise.resolve();
    },
  };
}
