// Where admin state survives restarts: dynamic broker configs, client quotas, finalized feature
// levels, SCRAM credentials (salts, iteration counts, StoredKey/ServerKey; never passwords), ACLs.
// Storage keeps it as one opaque JSON document (src/broker/config/store.ts gives its shape), written
// whole on each change: small and rarely written. Every engine has one (setup.ts hands it out).
// Each stored document has a revision; a save names the revision it was built on and is refused if
// another writer (another broker of a cluster) stored a later one first: the broker then adopts the
// stored document and applies its change again (src/broker/config/index.ts), so no change is lost.
// File engine: `<data dir>/__chronik_metadata/admin.json`, written atomically (temp file, sync,
// rename) beside the metadata store's files; one broker owns it, so its revision lives in memory.
// Memory: kept in memory. PostgreSQL: postgres/metadata.ts (a revision row beside the document).
import type { FileSystem } from "../runtime.ts";

/** The admin document: a JSON object with a format version. */
export type AdminDocument = { version: number; [part: string]: unknown };

/** A stored document and its revision (0: nothing stored yet). */
export type StoredAdmin = { doc: AdminDocument | null; revision: number };

export interface AdminStore {
  load(): Promise<StoredAdmin>;
  /** The stored revision alone (cheap: polled by every broker of a cluster). */
  revision(): Promise<number>;
  /**
   * Stores `doc` as revision `base + 1` if the stored revision is still `base`; false (nothing written)
   * if another writer stored one first.
   */
  save(doc: AdminDocument, base: number): Promise<boolean>;
}

/** Path under the data directory, beside the metadata store's files. */
export const ADMIN_FILE = "__chronik_metadata/admin.json";

export function fileAdminStore(fs: FileSystem, dataDir: string): AdminStore {
  const dir = `${dataDir.replace(/\/+$/, "")}/__chronik_metadata`;
  const path = `${dataDir.replace(/\/+$/, "")}/${ADMIN_FILE}`;
  let revision = 0;
  return {
    async load() {
      const bytes = await fs.readFile(path);
      if (bytes === null) return { doc: null, revision };
      return { doc: JSON.parse(new TextDecoder().decode(bytes)) as AdminDocument, revision };
    },
    revision: () => Promise.resolve(revision),
    async save(doc, base) {
      if (base !== revision) return false;
      await fs.mkdir(dir);
      // SCRAM keys and ACLs: readable by the broker's user only.
      await fs.writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(doc, null, 1)), { mode: 0o600 });
      revision = base + 1;
      return true;
    },
  };
}

/** For a broker without a data directory. */
export function memoryAdminStore(): AdminStore {
  let kept: AdminDocument | null = null;
  let revision = 0;
  return {
    load: () => Promise.resolve({ doc: kept === null ? null : structuredClone(kept), revision }),
    revision: () => Promise.resolve(revision),
    save(doc, base) {
      if (base !== revision) return Promise.resolve(false);
      kept = structuredClone(doc);
      revision = base + 1;
      return Promise.resolve(true);
    },
  };
}
