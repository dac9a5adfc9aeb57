// Admin state of the broker — configs, client quotas, features, SCRAM credentials — restored from
// and saved to the admin store. startBroker calls openAdmin once topics are loaded.
import type { BrokerConfig } from "../../config.ts";
import { configNumber } from "../../config.ts";
import type { Runtime } from "../../runtime.ts";
import { Authorizer, parseSuperUsers } from "../auth/acl.ts";
import { Authentication } from "../auth/auth.ts";
import type { Topics } from "../topics.ts";
import { Configs } from "./configs.ts";
import { Features } from "./features.ts";
import { ClientQuotas } from "./quotas.ts";
import { ClientMetrics } from "../telemetry/client_metrics.ts";
import { ResourceType } from "./configs.ts";
import type { AdminStore } from "../../storage/admin.ts";
import type { AdminSnapshot } from "./store.ts";

export type Admin = {
  configs: Configs;
  quotas: ClientQuotas;
  features: Features;
  auth: Authentication;
  acls: Authorizer;
  /** KIP-714 client-metrics subscriptions (CLIENT_METRICS config resources) and pushed metrics. */
  clientMetrics: ClientMetrics;
};

export async function openAdmin(
  runtime: Runtime,
  config: BrokerConfig,
  given: Partial<BrokerConfig>,
  topics: Topics,
  apiKeys: ReadonlySet<number>,
  identity: () => Record<string, string | null>,
  store: AdminStore,
): Promise<Admin> {
  const configs = new Configs(config, given, topics, identity);
  configs.log = (level, message) => runtime.log(level, message);
  // Produce, Fetch, retention and compaction read topic configs through Topics.config: let them see
  // dynamic broker defaults.
  topics.brokerValues = configs.brokerValue;
  // quota.window.num / quota.window.size.seconds are read at start-up, as in Kafka.
  const quotas = new ClientQuotas({
    numSamples: Math.max(1, configNumber(config, "quota.window.num")),
    windowMs: Math.max(1, configNumber(config, "quota.window.size.seconds")) * 1000,
  });
  const features = new Features(apiKeys, config.nodeId);
  const clientMetrics = new ClientMetrics(() => Number(config["telemetry.max.bytes"] ?? 1048576), () => runtime.now());
  configs.resources.set(ResourceType.CLIENT_METRICS, clientMetrics);
  const auth = new Authentication(config, { fs: runtime.fs, now: () => runtime.now() });
  // authorizer.class.name, super.users and allow.everyone.if.no.acl.found are read as they are now.
  let superRaw: unknown = undefined;
  let superUsers = new Set<string>();
  const enabled = () => {
    const name = config["authorizer.class.name"];
    return typeof name === "string" && name.trim() !== "";
  };
  const acls = new Authorizer(enabled, () => {
    if (config["super.users"] !== superRaw) {
      superRaw = config["super.users"];
      superUsers = parseSuperUsers(superRaw);
    }
    return {
      enabled: enabled(),
      superUsers,
      allowIfNoAcl: String(config["allow.everyone.if.no.acl.found"]) === "true",
    };
  });
  const saved = (await store.load()) as AdminSnapshot | null;
  if (saved && saved.version !== 1) throw new Error(`unknown admin snapshot version ${String(saved.version)}`);
  if (saved) {
    configs.restore(saved.configs ?? {});
    quotas.restore(saved.quotas ?? []);
    if (saved.features) features.restore(saved.features);
    if (saved.scram) auth.scram.restore(saved.scram);
    if (saved.acls) acls.restore(saved.acls);
    if (saved.clientMetrics) clientMetrics.restore(saved.clientMetrics);
  }
  const persist = () =>
    store.save(
      {
        version: 1,
        configs: configs.snapshot(),
        quotas: quotas.snapshot(),
        features: features.snapshot(),
        scram: auth.scram.snapshot(),
        acls: acls.snapshot(),
        clientMetrics: clientMetrics.snapshot(),
      } satisfies AdminSnapshot,
    );
  configs.onChange = persist;
  quotas.onChange = persist;
  features.onChange = persist;
  auth.scram.onChange = persist;
  acls.onChange = persist;
  clientMetrics.onChange = persist;
  return { configs, quotas, features, auth, acls, clientMetrics };
}
