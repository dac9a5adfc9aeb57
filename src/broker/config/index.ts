// Admin state of the broker — configs, client quotas, features, SCRAM credentials, ACLs, client-metrics
// subscriptions — restored from and saved to the admin store. startBroker calls openAdmin once topics are
// loaded. Every change runs through `transact`: one at a time, stored with a compare-and-set on the document's
// revision; in a cluster it first adopts what other brokers stored and is applied again if it lost a race, so
// all brokers apply the same changes in the same order and none is lost (Kafka's metadata log, in one row).
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
   * Several brokers share the store (a cluster): a change through any of them (ACLs, SCRAM users, quotas,
   * dynamic configs, client-metrics subscriptions, finalized features) starts from the latest stored state, is
   * stored only if no other broker stored one meanwhile (else it is applied again on that one), and reaches the
   * others within broker.heartbeat.interval.ms (each polls the stored revision).
   */
  followStore(): void;
  /** Adopts the stored state now if another broker changed it (what followStore does every interval); true if so. */
  follow(): Promise<boolean>;
  /** Stops following the stored admin state. */
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
  // The revision of the stored document this broker's state is (changes through this broker included), and
  // that document: what a failed save rolls back to.
  let revision = 0;
  const initialFeatures = features.snapshot();
  let base: AdminSnapshot | null = null;
  const adopt = (doc: AdminSnapshot | null, rev: number) => {
    if (doc && doc.version !== 1) throw new Error(`unknown admin snapshot version ${String(doc.version)}`);
    // Each part is replaced, not merged: what another broker removed is removed here too.
    configs.restore(doc?.configs ?? {});
    quotas.restore(doc?.quotas ?? []);
    features.restore(doc?.features ?? initialFeatures);
    auth.scram.restore(doc?.scram ?? []);
    acls.restore(doc?.acls ?? []);
    clientMetrics.restore(doc?.clientMetrics ?? {});
    base = doc;
    revision = rev;
  };
  {
    const stored = await store.load();
    if (stored.doc) adopt(stored.doc as AdminSnapshot, stored.revision);
    else revision = stored.revision;
  }
  const snapshot = (): AdminSnapshot => ({
    version: 1,
    configs: configs.snapshot(),
    quotas: quotas.snapshot(),
    features: features.snapshot(),
    scram: auth.scram.snapshot(),
    acls: acls.snapshot(),
    clientMetrics: clientMetrics.snapshot(),
  });
  // Set when a save finds a later revision stored (another broker's change): the change is run again on it.
  let conflict = false;
  const persist = async () => {
    const doc = snapshot();
    if (!(await store.save(doc, revision))) {
      conflict = true;
      throw new Error("the admin state changed through another broker meanwhile");
    }
    base = doc;
    revision++;
  };
  // Several brokers share the store (a cluster, after followStore()): each change starts from the latest stored state.
  let shared = false;
  const follow = async () => {
    if ((await store.revision()) === revision) return false;
    const stored = await store.load();
    if (stored.revision === revision) return false;
    adopt(stored.doc as AdminSnapshot | null, stored.revision);
    return true;
  };
  // One change at a time in this broker (and following the store, in the same queue).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn);
    queue = p.catch(() => {});
    return p;
  };
  const MAX_ATTEMPTS = 20;
  const transact = <T>(fn: () => Promise<T>): Promise<T> =>
    serial(async () => {
      for (let attempt = 1;; attempt++) {
        if (shared || attempt > 1) await follow();
        conflict = false;
        const rev = revision;
        try {
          const out = await fn();
          if (!conflict) return out;
        } catch (e) {
          if (!conflict) {
            // Not stored (storage down, say): this broker goes back to what is stored, as the others see it.
            if (revision === rev) adopt(base, rev);
            throw e;
          }
        }
        if (attempt >= MAX_ATTEMPTS) {
          adopt(base, rev);
          throw new Error(`the admin state kept changing through other brokers (${MAX_ATTEMPTS} attempts)`);
        }
        runtime.log("debug", `admin change: revision ${rev} was superseded; applying it again on the stored state`);
      }
    });
  configs.onChange = persist;
  quotas.onChange = persist;
  features.onChange = persist;
  auth.scram.onChange = persist;
  acls.onChange = persist;
  clientMetrics.onChange = persist;
  configs.transact = transact;
  quotas.transact = transact;
  features.transact = transact;
  auth.scram.transact = transact;
  acls.transact = transact;
  let timer: ReturnType<typeof setInterval> | null = null;
  let warned = false;
  const followStore = () => {
    if (shared) return;
    shared = true;
    let polling = false; // a hung PostgreSQL: one poll waits, the next ticks do not queue behind it
    timer = setInterval(() => {
      if (polling) return;
      polling = true;
      serial(follow).finally(() => polling = false).then(
        (adopted) => {
          if (adopted) {
            runtime.log("info", `admin state (ACLs, SCRAM users, quotas, configs) now at revision ${revision}`);
          }
          warned = false;
        },
        (e) => {
          if (!warned && timer !== null) {
            runtime.log("warn", `reading the admin state: ${e instanceof Error ? e.message : String(e)}`);
          }
          warned = true;
        },
      );
    }, Math.max(100, configNumber(config, "broker.heartbeat.interval.ms")));
  };
  const close = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  return { configs, quotas, features, auth, acls, clientMetrics, followStore, follow: () => serial(follow), close };
}
