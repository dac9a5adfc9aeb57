// The broker: wires config, storage, services and the server onto a Runtime.
import type { BrokerConfig } from "../config.ts";
import { resolveConfig } from "../config.ts";
import { logEnabled } from "../log.ts";
import type { HttpServer, Listener, LogLevel, Runtime, TlsOptions } from "../runtime.ts";
import { BufferPool } from "../storage/buffer_pool.ts";
import { openStorage } from "../storage/setup.ts";
import type { LogStore } from "../storage/store.ts";
import { parseListeners, SECURITY_PROTOCOLS } from "./auth/auth.ts";
import { tlsOptionsFor } from "./auth/tls.ts";
import { openAdmin } from "./config/index.ts";
import { FetchSessions } from "./fetch_sessions.ts";
import { GroupCoordinator } from "./groups/coordinator.ts";
import type { ConnListener, Handler } from "./handler.ts";
import { HANDLERS } from "./handlers/index.ts";
import { httpApp } from "../http/app.ts";
import { Metrics } from "./metrics.ts";
import { Server } from "./server.ts";
import type { Services } from "./services.ts";
import { effectiveTopicConfig } from "./topic_configs.ts";
import { randomUuid, Topics } from "./topics.ts";
import { recoverProducerStates, snapshotProducerStates, TransactionCoordinator } from "./txn/coordinator.ts";

export interface Broker {
  readonly host: string;
  /** The bound port (useful with port 0), of the first listener. */
  readonly port: number;
  /** Every listener, in the order of `listeners`. */
  readonly listeners: readonly { name: string; host: string; port: number }[];
  readonly services: Services;
  /** Stops accepting, finishes in-flight requests, closes connections and storage. Idempotent. */
  close(): Promise<void>;
}

/** Options that are not configuration. */
export type StartOptions = {
  /** Use this store instead of creating one; the caller owns it (close() leaves it open), so a broker can restart on it. */
  store?: LogStore;
};

export async function startBroker(
  runtime: Runtime,
  partial: Partial<BrokerConfig> = {},
  options: StartOptions = {},
): Promise<Broker> {
  const config = resolveConfig(partial);
  // `listeners` (Kafka's form, e.g. PLAINTEXT://127.0.0.1:9092,SASL_SSL://:9093): each listener's
  // name, security protocol and address ("" host: every interface). --host/--port (config.host,
  // config.port, when given) choose the first listener's address; without `listeners` there is one
  // PLAINTEXT listener there. `advertised.listeners` names what each tells clients.
  const specs = parseListeners(config.listeners, config);
  if (specs.length === 0) {
    specs.push({ name: "PLAINTEXT", protocol: "PLAINTEXT", host: config.host, port: config.port });
  }
  for (const l of specs) {
    if (!SECURITY_PROTOCOLS.includes(l.protocol)) {
      throw new Error(
        `listener ${l.name}: security protocol ${l.protocol} is not supported (${SECURITY_PROTOCOLS.join(", ")})`,
      );
    }
  }
  const bind = specs.map((l, i) => ({
    ...l,
    host: i === 0 && partial.host !== undefined ? config.host : l.host ?? "0.0.0.0",
    port: i === 0 && partial.port !== undefined ? config.port : l.port ?? config.port,
  }));
  config.host = bind[0].host;
  config.port = bind[0].port;
  const advertisedConfig = new Map(
    parseListeners(config["advertised.listeners"], config, "advertised.listeners").map((l) => [l.name, l]),
  );
  // The TLS keys and certificates are read first: a bad keystore stops the start before anything opens.
  const tlsOf = new Map<string, TlsOptions>();
  for (const l of bind) {
    if (l.protocol === "SSL" || l.protocol === "SASL_SSL") {
      tlsOf.set(l.name, await tlsOptionsFor(config, l.name, runtime.fs));
    }
  }
  // The wasm zstd encoder (~40 ms to load, ~9-20 MB resident) is loaded by the first path that
  // compresses with zstd (Produce into a compression.type=zstd topic, the REST proxy, compaction),
  // which awaits it. Loading it in the background at start cost Deno 141 -> 101 ms to listen and
  // 79 -> 74 MB idle, Bun 112 -> 70 ms and 69 -> 60 MB.
  const log = (level: LogLevel, message: string) => {
    if (logEnabled(level, config.logLevel)) runtime.log(level, message);
  };
  // The file engine under config.dataDir (memory without one); it reads topic configs through `topics`.
  const storage = await openStorage(runtime, config, log, (t, n) => {
    const topic = topics.get(t);
    return topic ? topics.config(topic, n, config) : effectiveTopicConfig(new Map(), n, config);
  });
  const store = options.store ?? storage.store;
  const handlers = new Map<number, Handler>(HANDLERS.map((h) => [h.api.key, h]));
  const metrics = new Metrics(runtime.now(), handlers.values());
  const closingListeners = new Set<() => void>();
  const advertised = { host: "", port: 0 };
  const topics = new Topics(store, storage.metadata);
  await topics.load();
  await storage.removeUnknown((t, p) => (topics.get(t)?.partitions.length ?? 0) > p);
  const clusterId = config.clusterId ?? storage.metadata.clusterId ?? randomUuid();
  if (storage.metadata.clusterId === null) await storage.metadata.setClusterId(clusterId);
  const bound: { name: string; host: string; port: number; advertised: { host: string; port: number } }[] = [];
  const admin = await openAdmin(runtime, config, partial, topics, new Set(handlers.keys()), () => ({
    "node.id": String(config.nodeId),
    "broker.id": String(config.nodeId),
    "listeners": bound.map((l) => `${l.name}://${l.host}:${l.port}`).join(","),
    "advertised.listeners": bound.map((l) => `${l.name}://${l.advertised.host}:${l.advertised.port}`).join(","),
    "log.dirs": config.dataDir,
    "log.dir": config.dataDir,
  }));
  await admin.auth.bootstrap(config["chronik.add.scram"]);
  const now = () => runtime.now();
  const groups = new GroupCoordinator({ config, topics, now, log });
  const txns = new TransactionCoordinator({
    topics,
    now,
    log,
    maxTimeoutMs: Number(config["transaction.max.timeout.ms"] ?? 900000),
    checkIntervalMs: Number(config["transaction.abort.timed.out.transaction.cleanup.interval.ms"] ?? 10000),
  });
  txns.offsetSink = groups;
  const services: Services = {
    config,
    runtime,
    store,
    topics,
    clusterId,
    advertised,
    now,
    log,
    onClosing(listener) {
      closingListeners.add(listener);
      return () => closingListeners.delete(listener);
    },
    counters: { produceRequests: 0 },
    metrics,
    readBuffers: new BufferPool(),
    frameBuffers: new BufferPool(16 << 20, 8 << 20, 16 * 1024),
    fetchSessions: new FetchSessions(Number(config["max.incremental.fetch.session.cache.slots"] ?? 1000)),
    groups,
    txns,
    ...admin,
    apiVersions: [...handlers.values()]
      .sort((a, b) => a.api.key - b.api.key)
      // Produce v0-2 are served (up-converted), which also keeps librdkafka before 2.10 compressing
      // with gzip, snappy and lz4: it only does when Produce is listed from v0 (KAFKA-18659).
      .map((h) => ({ apiKey: h.api.key, minVersion: h.versions[0], maxVersion: h.versions[1] })),
  };
  await recoverProducerStates(topics, log);
  await groups.start();
  await txns.start();
  // Producer-state snapshots bound the replay after an unclean stop (Kafka snapshots at segment roll).
  const snapshotTimer = setInterval(() => {
    snapshotProducerStates(topics).catch((e) =>
      log("warn", `producer-state snapshot failed: ${e instanceof Error ? e.message : String(e)}`)
    );
  }, Number(config["chronik.producer.snapshot.interval.ms"] ?? 30000));
  const server = new Server(services, handlers);
  const listeners: Listener[] = [];
  const wildcard = (h: string) => h === "0.0.0.0" || h === "::" || h === "";
  try {
    for (const [i, l] of bind.entries()) {
      const auth = admin.auth.listeners.find((a) => a.name === l.name)!;
      const adv = { host: "", port: 0 };
      const connListener: ConnListener = { name: l.name, auth, advertised: adv };
      const listener = await runtime.listen(
        { host: l.host, port: l.port, tls: tlsOf.get(l.name) },
        (conn) => server.accept(conn, connListener),
      );
      listeners.push(listener);
      const a = advertisedConfig.get(l.name);
      adv.host = (i === 0 ? config.advertisedHost : null) ?? a?.host ?? (wildcard(l.host) ? "127.0.0.1" : l.host);
      adv.port = (i === 0 ? config.advertisedPort : null) ?? (a?.port || listener.port);
      bound.push({ name: l.name, host: listener.host, port: listener.port, advertised: adv });
      const security = auth.required ? `${auth.protocol} with ${auth.mechanisms.join(", ")}` : auth.protocol;
      // The first line keeps its form: scripts and tests read the port from "listening on host:port".
      log(
        "info",
        i === 0
          ? `chronik listening on ${listener.host}:${listener.port} (${runtime.name}${
            security === "PLAINTEXT" ? "" : `, ${security}`
          }), advertising ${adv.host}:${adv.port}`
          : `listener ${l.name} listening on ${listener.host}:${listener.port} (${security}), advertising ${adv.host}:${adv.port}`,
      );
    }
  } catch (e) {
    for (const l of listeners) await l.close().catch(() => {});
    throw e;
  }
  advertised.host = bound[0].advertised.host;
  advertised.port = bound[0].advertised.port;
  // The HTTP side (chronik.http.port, --http-port): health, readiness, metrics, a read-only admin view.
  let ready = true;
  let http: HttpServer | null = null;
  const httpPort = config["chronik.http.port"];
  if (httpPort !== undefined && httpPort !== null && Number(httpPort) >= 0) {
    if (!runtime.serve) {
      log("warn", `the ${runtime.name} runtime serves no HTTP; chronik.http.port ignored`);
    } else {
      // An offline log dir (docs/storage.md, Failures) makes the broker not ready until it restarts.
      const app = httpApp(services, { ready: () => ready && !storage.file?.offline });
      // Unauthenticated, so loopback unless chronik.http.host says otherwise.
      const httpHost = String(config["chronik.http.host"] ?? "127.0.0.1");
      http = await runtime.serve({ host: httpHost, port: Number(httpPort) }, (req) => app.fetch(req));
      log("info", `http listening on ${http.host}:${http.port} (/health, /ready, /metrics, /v1/...)`);
    }
  }

  let closed: Promise<void> | null = null;
  return {
    host: bound[0].host,
    port: bound[0].port,
    listeners: bound.map((l) => ({ name: l.name, host: l.host, port: l.port })),
    services,
    close() {
      closed ??= (async () => {
        log("info", "shutting down: no new connections, finishing in-flight requests");
        ready = false;
        await http?.close().catch(() => {});
        for (const l of listeners) await l.close();
        for (const l of closingListeners) l();
        groups.close();
        await server.close();
        txns.close();
        clearInterval(snapshotTimer);
        await snapshotProducerStates(topics, true).catch((e) =>
          log("warn", `producer-state snapshot failed: ${e instanceof Error ? e.message : String(e)}`)
        );
        if (!options.store) await storage.close();
        log("info", "stopped");
      })();
      return closed;
    },
  };
}
