// The shape of the admin document the storage layer keeps (src/storage/admin.ts): dynamic broker
// configs, client quotas, finalized feature levels, SCRAM credentials and ACLs, version 1.
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
