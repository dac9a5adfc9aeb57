// Where admin state survives restarts: dynamic broker configs, client quotas, finalized feature
// levels, SCRAM credentials, ACLs (salts, iteration counts, StoredKey/ServerKey; never passwords), as one JSON snapshot written atomically (temp file, sync, rename) next to the metadata
// store (src/storage/metadata.ts keeps the cluster id, topics and topic configs). Without a data
// directory nothing is kept. Small and rarely written, so a whole snapshot per change is fine.
import type { FileSystem } from "../../runtime.ts";
import type { AclBinding } from "../auth/acl.ts";
import type { ScramSnapshot } from "../auth/auth.ts";
import type { ConfigsSnapshot } from "./configs.ts";
import type { FeaturesSnapshot } from "./features.ts";
import type { QuotaSnapshot } from "./quotas.ts";
import type { ClientMetricsSnapshot } from "../telemetry/client_metrics.ts";

export type AdminSnapshot = {
  version: 1;
  configs?: ConfigsSnapshot;
  quotas?: QuotaSnapshot;
  features?: FeaturesSnapshot;
  scram?: ScramSnapshot;
  acls?: AclBinding[];
  clientMetrics?: ClientMetricsSnapshot;
};

export interface AdminStore {
  load(): Promise<AdminSnapshot | null>;
  /** Saves are applied in call order; each writes the whole snapshot. */
  save(snapshot: AdminSnapshot): Promise<void>;
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
      const s = JSON.parse(new TextDecoder().decode(bytes)) as AdminSnapshot;
      if (s.version !== 1) throw new Error(`${path}: unknown admin snapshot version ${String(s.version)}`);
      return s;
    },
    save(snapshot) {
      const data = new TextEncoder().encode(JSON.stringify(snapshot, null, 1));
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
  let kept: AdminSnapshot | null = null;
  return {
    load: () => Promise.resolve(kept === null ? null : structuredClone(kept)),
    save(s) {
      kept = structuredClone(s);
      return Promise.resolve();
    },
  };
}
