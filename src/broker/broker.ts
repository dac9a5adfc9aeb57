// The broker: wires config, storage, services and the server onto a Runtime.
import type { BrokerConfig } from "../config.ts";
import { resolveConfig } from "../config.ts";
import { prepareCompression } from "../protocol/compression/index.ts";
import { logEnabled } from "../log.ts";
import type { HttpServer, LogLevel, Runtime } from "../runtime.ts";
import { BufferPool } from "../storage/buffer_pool.ts";
import { openStorage } from "../storage/setup.ts";
import type { LogStore } from "../storage/store.ts";
import { listenerOf, SECURITY_PROTOCOLS } from "./auth/auth.ts";
import { tlsOptionsFor } from "./auth/tls.ts";
import { openAdmin } from "./config/index.ts";
import { FetchSessions } from "./fetch_sessions.ts";
import { GroupCoordinator } from "./groups/coordinator.ts";
import type { Handler } from "./handler.ts";
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
  /** The bound port (useful with port 0). */
  readonly port: number;
  readonly services: Services;
  /** Stops accepting, finishes in-flight requests, closes connections and storage. Idempotent. */
  close(): Promise<void>;
}

/** Options that are not configuration. */
export type StartOptions = {
  /** Use this store instead of creating one; the caller owns it (close() leaves it open), so a broker can restart on it. */
  store?: LogStore;
};

export async function startBroker(runtime: Runtime, partial: Partial<BrokerConfig> = {}, options: StartOptions = {}): Promise<Broker> {
  const config = resolveConfig(partial);
  // `listeners` (Kafka's form, e.g. SASL_PLAINTEXT://127.0.0.1:9092) names the security protocol
  // and, unless host and port are given otherwise, where to listen ("" host: every interface).
  const listenerConfig = listenerOf(config);
  if (!SECURITY_PROTOCOLS.includes(listenerConfig.protocol)) {
    throw new Error(`listener security protocol ${listenerConfig.protocol} is not supported (${SECURITY_PROTOCOLS.join(", ")})`);
  }
  if (typeof config.listeners === "string") {
    if (partial.host === undefined) config.host = listenerConfig.host ?? "0.0.0.0";
    if (partial.port === undefined && listenerConfig.port !== null) config.port = listenerConfig.port;
  }
  // The TLS key and certificates are read first: a bad keystore stops the start before anything opens.
  const tls = listenerConfig.protocol === "SSL" || listenerConfig.protocol === "SASL_SSL" ? await tlsOptionsFor(config, listenerConfig.name, runtime.fs) : undefined;
  // The wasm zstd encoder (~40 ms to load) comes up in the background; the paths that compress
  // with zstd (Produce into a compression.type=zstd topic, compaction) await it themselves.
  void prepareCompression();
  const log = (level: LogLevel, message: string) => {
    if (logEnabled(level, config.logLevel)) runtime.log(level, message);
  };
  // The file engine under config.dataDir (memory without one); it reads topic configs through `topics`.
  const storage = await openStorage(runtime, config, log, (t, n) => {
    const topic = topics.get(t);
    return topic ? topics.config(topic, n, config) : effectiveTopicConfig(new Map(), n, config);
  });
  const store = options.store ?? storage.store;
  const metrics = new Metrics(runtime.now());
  const handlers = new Map<number, Handler>(HANDLERS.map((h) => [h.api.key, metrics.count(h)]));
  const closingListeners = new Set<() => void>();
  const advertised = { host: "", port: 0 };
  const topics = new Topics(store, storage.metadata);
  await topics.load();
  await storage.removeUnknown((t, p) => (topics.get(t)?.partitions.length ?? 0) > p);
  const clusterId = config.clusterId ?? storage.metadata.clusterId ?? randomUuid();
  if (storage.metadata.clusterId === null) await storage.metadata.setClusterId(clusterId);
  let boundPort = config.port;
  const admin = await openAdmin(runtime, config, partial, topics, new Set(handlers.keys()), () => ({
    "node.id": String(config.nodeId),
    "broker.id": String(config.nodeId),
    "listeners": `${listenerConfig.name}://${config.host}:${boundPort}`,
    "advertised.listeners": `${listenerConfig.name}://${advertised.host}:${advertised.port}`,
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
    snapshotProducerStates(topics).catch((e) => log("warn", `producer-state snapshot failed: ${e instanceof Error ? e.message : String(e)}`));
  }, Number(config["chronik.producer.snapshot.interval.ms"] ?? 30000));
  const server = new Server(services, handlers);
  const listener = await runtime.listen({ host: config.host, port: config.port, tls }, (conn) => metrics.accept(conn, (c) => server.accept(c)));
  const wildcard = config.host === "0.0.0.0" || config.host === "::" || config.host === "";
  advertised.host = config.advertisedHost ?? (wildcard ? "127.0.0.1" : config.host);
  advertised.port = config.advertisedPort ?? listener.port;
  boundPort = listener.port;
  const security = admin.auth.required ? `, ${listenerConfig.protocol} with ${admin.auth.mechanisms.join(", ")}` : "";
  log("info", `chronik listening on ${listener.host}:${listener.port} (${runtime.name}${security}), advertising ${advertised.host}:${advertised.port}`);
  // The HTTP side (chronik.http.port, --http-port): health, readiness, metrics, a read-only admin view.
  let ready = true;
  let http: HttpServer | null = null;
  const httpPort = config["chronik.http.port"];
  if (httpPort !== undefined && httpPort !== null && Number(httpPort) >= 0) {
    if (!runtime.serve) {
      log("warn", `the ${runtime.name} runtime serves no HTTP; chronik.http.port ignored`);
    } else {
      const app = httpApp(services, { ready: () => ready });
      http = await runtime.serve({ host: config.host, port: Number(httpPort) }, (req) => app.fetch(req));
      log("info", `http listening on ${http.host}:${http.port} (/health, /ready, /metrics, /v1/...)`);
    }
  }

  let closed: Promise<void> | null = null;
  return {
    host: listener.host,
    port: listener.port,
    services,
    close() {
      closed ??= (async () => {
        log("info", "shutting down: no new connections, finishing in-flight requests");
        ready = false;
        await http?.close().catch(() => {});
        await listener.close();
        for (const l of closingListeners) l();
        groups.close();
        await server.close();
        txns.close();
        clearInterval(snapshotTimer);
        await snapshotProducerStates(topics, true).catch((e) => log("warn", `producer-state snapshot failed: ${e instanceof Error ? e.message : String(e)}`));
        if (!options.store) await storage.close();
        log("info", "stopped");
      })();
      return closed;
    },
  };
}
