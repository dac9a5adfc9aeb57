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
  /**
   * Several brokers share the store (a cluster): finalized features changed through one reach the others
   * (within broker.heartbeat.interval.ms) and are never reverted by their saves.
   */
  shareFeatures(): void;
  /** Stops following the stored finalized features. */
  close(): void;
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
  // Cluster: finalized features stored at a later epoch (UpdateFeatures through another broker) are adopted
  // before this broker updates them or saves the document (so a save for another part never reverts them),
  // and every broker.heartbeat.interval.ms (so share.version, say, takes effect everywhere without a restart).
  const adoptFeatures = async () => {
    const stored = ((await store.load()) as AdminSnapshot | null)?.features;
    if (!stored || stored.epoch <= Number(features.epoch)) return;
    features.restore(stored);
    runtime.log("info", `finalized features now ${JSON.stringify(stored.levels)} (epoch ${stored.epoch}, stored)`);
  };
  let shared = false;
  const save = () => shared ? adoptFeatures().then(persist) : persist();
  configs.onChange = save;
  quotas.onChange = save;
  features.onChange = persist;
  auth.scram.onChange = save;
  acls.onChange = save;
  clientMetrics.onChange = save;
  let timer: ReturnType<typeof setInterval> | null = null;
  const shareFeatures = () => {
    if (shared) return;
    shared = true;
    features.beforeUpdate = adoptFeatures;
    timer = setInterval(() => {
      adoptFeatures().catch((e) =>
        runtime.log("warn", `reading the finalized features: ${e instanceof Error ? e.message : String(e)}`)
      );
    }, Math.max(100, configNumber(config, "broker.heartbeat.interval.ms")));
  };
  const close = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  return { configs, quotas, features, auth, acls, clientMetrics, shareFeatures, close };
}
