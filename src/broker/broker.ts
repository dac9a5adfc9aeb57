// The broker: wires config, storage, services and the server onto a Runtime.
import type { BrokerConfig } from "../config.ts";
import { configBoolean, configNumber, resolveConfig } from "../config.ts";
import { logEnabled } from "../log.ts";
import type { HttpServer, Listener, LogLevel, Runtime, TlsOptions } from "../runtime.ts";
import { BufferPool } from "../storage/buffer_pool.ts";
import { openStorage } from "../storage/setup.ts";
import { storageOf } from "../storage/url.ts";
import type { LogStore } from "../storage/store.ts";
import { parseListeners, SECURITY_PROTOCOLS } from "./auth/auth.ts";
import { tlsOptionsFor } from "./auth/tls.ts";
import { openAdmin } from "./config/index.ts";
import { FetchSessions, partitionKey } from "./fetch_sessions.ts";
import { GroupCoordinator, OFFSETS_TOPIC, offsetsTopicPartitions, txnTopicPartitions } from "./groups/coordinator.ts";
import { ShareCoordinator } from "./share/coordinator.ts";
import { GroupConfigs } from "./share/group_configs.ts";
import { SchemaRegistry } from "./registry/registry.ts";
import { ResourceType } from "./config/configs.ts";
import type { ConnListener, Handler } from "./handler.ts";
import { HANDLERS } from "./handlers/index.ts";
import { httpApp } from "../http/app.ts";
import { Metrics } from "./metrics.ts";
import { Server } from "./server.ts";
import type { Services } from "./services.ts";
import { effectiveTopicConfig } from "./topic_configs.ts";
import { randomUuid, Topics } from "./topics.ts";
import {
  recoverProducerStates,
  snapshotProducerStates,
  takeOverPartition,
  TransactionCoordinator,
  TXN_TOPIC,
} from "./txn/coordinator.ts";
import type { Cluster } from "./cluster.ts";
import { keyPartition, Member, singleNode } from "./cluster.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { addPartitionOn, interBrokerOf, Peers, txnOffsetsOn, writeMarkersOn } from "./peer.ts";
import type { PendingOffset, RemoteMarker } from "./txn/coordinator.ts";
import { PRODUCER_ID_BLOCK } from "./txn/coordinator.ts";
import type { PostgresLogStore } from "../storage/postgres/log.ts";
import { listenFailure } from "./listen_error.ts";

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
  /** The process environment, for settings that fall back to it (AWS_* for chronik.object.store). */
  env?: Readonly<Record<string, string | undefined>>;
};

export async function startBroker(
  runtime: Runtime,
  partial: Partial<BrokerConfig> = {},
  options: StartOptions = {},
): Promise<Broker> {
  // A start that fails (a port in use, a bad keystore) undoes what it opened, storage last, so the
  // data dir is closed cleanly (not marked unclean) and its lock released.
  const undo: (() => unknown)[] = [];
  try {
    return await start(runtime, partial, options, undo);
  } catch (e) {
    for (const f of undo.reverse()) await Promise.resolve().then(f).catch(() => {});
    throw e;
  }
}

async function start(
  runtime: Runtime,
  partial: Partial<BrokerConfig>,
  options: StartOptions,
  undo: (() => unknown)[],
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
  // What config.storage names (else the file engine under config.dataDir, memory without one); the
  // file engine reads topic configs through `topics`. dataDir then says where the file engine runs.
  const where = storageOf(config);
  config.dataDir = where.kind === "file" ? where.dir : null;
  const storage = await openStorage(runtime, config, log, (t, n) => {
    const topic = topics.get(t);
    return topic ? topics.config(topic, n, config) : effectiveTopicConfig(new Map(), n, config);
  }, options.env);
  if (!options.store) undo.push(() => storage.close());
  const store = options.store ?? storage.store;
  const handlers = new Map<number, Handler>(HANDLERS.map((h) => [h.api.key, h]));
  const metrics = new Metrics(runtime.now(), handlers.values());
  runtime.processStats?.(); // GC time counts from here
  const closingListeners = new Set<() => void>();
  const advertised = { host: "", port: 0 };
  const topics = new Topics(store, storage.metadata);
  await topics.load();
  await storage.removeUnknown((t, p) => (topics.get(t)?.partitions.length ?? 0) > p);
  const clusterId = config.clusterId ?? storage.metadata.clusterId ?? storage.clusterId ?? randomUuid();
  if (storage.metadata.clusterId === null) await storage.metadata.setClusterId(clusterId);
  const bound: { name: string; host: string; port: number; advertised: { host: string; port: number } }[] = [];
  const admin = await openAdmin(runtime, config, partial, topics, new Set(handlers.keys()), () => ({
    "node.id": String(config.nodeId),
    "broker.id": String(config.nodeId),
    "listeners": bound.map((l) => `${l.name}://${l.host}:${l.port}`).join(","),
    "advertised.listeners": bound.map((l) => `${l.name}://${l.advertised.host}:${l.advertised.port}`).join(","),
    "log.dirs": config.dataDir,
    "log.dir": config.dataDir,
  }), storage.admin);
  if (storage.cluster) admin.followStore();
  await admin.auth.bootstrap(config["chronik.add.scram"]);
  const now = () => runtime.now();
  // On PostgreSQL every broker is a cluster member; its group and transaction coordinators then serve
  // the groups and transactional ids of the internal partitions it leads (loaded when it gains one).
  const member = storage.cluster
    ? new Member({
      nodeId: config.nodeId,
      rack: typeof config["broker.rack"] === "string" ? config["broker.rack"] : null,
      listeners: () => Object.fromEntries(bound.map((l) => [l.name, l.advertised])),
      pg: storage.cluster,
      store: storage.fenced ?? (storage.store as PostgresLogStore),
      topics,
      heartbeatMs: configNumber(config, "broker.heartbeat.interval.ms"),
      leaseMs: configNumber(config, "broker.session.timeout.ms"),
      rebalance: configBoolean(config, "auto.leader.rebalance.enable")
        ? {
          intervalMs: configNumber(config, "leader.imbalance.check.interval.seconds") * 1000,
          percentage: configNumber(config, "leader.imbalance.per.broker.percentage"),
        }
        : null,
      now,
      log,
      // Share state is taken over right after (ShareCoordinator.gained; member.start() runs once `share` exists).
      takeOver: async (t, p): Promise<void> => {
        await takeOverPartition(topics, t, p);
        void share.gained(t, p);
      },
      coordinating: (topic, partition, on) => coordinating(topic, partition, on),
      // Spread over the brokers like any topic, so their counts default to Kafka's (50 each).
      internalPartitions: (t) => t === TXN_TOPIC ? txnTopicPartitions(config, 50) : offsetsTopicPartitions(config, 50),
    })
    : null;
  const cluster: Cluster = member ?? singleNode(config.nodeId);
  // Inter-broker requests go to the peers' inter-broker listener, with its TLS and SASL (peer.ts), and time out
  // after request.timeout.ms (a connection not set up within socket.connection.setup.timeout.ms fails).
  const interBroker = member
    ? await interBrokerOf(
      config,
      bind.map((l) => ({ ...l, mechanisms: admin.auth.listeners.find((a) => a.name === l.name)?.mechanisms })),
      runtime.fs,
    )
    : null;
  const peers = member
    ? new Peers(
      runtime,
      `chronik-broker-${config.nodeId}`,
      interBroker,
      configNumber(config, "request.timeout.ms"),
      configNumber(config, "socket.connection.setup.timeout.ms"),
    )
    : null;
  // Markers for partitions another broker leads go to it as WriteTxnMarkers (as Kafka's coordinator does).
  const sendMarkers = (node: number, m: RemoteMarker): Promise<Map<string, number>> => {
    const at = member!.addressOf(node, interBroker!.listener);
    return at ? writeMarkersOn(peers!, at, m) : Promise.reject(new Error(`broker ${node} is not live`));
  };
  // Transactions v2 across brokers: the partition leader (or group coordinator) adds the partition at the
  // transaction's coordinator (AddPartitionsToTxn v5), as Kafka's AddPartitionsToTxnManager does.
  const txnRemoteAdd = member
    ? async (
      transactionalId: string,
      producerId: bigint,
      producerEpoch: number,
      topic: string,
      partition: number,
      verifyOnly = false,
    ) => {
      const n = topics.get(TXN_TOPIC)?.partitions.length;
      const node = n ? member.leader(TXN_TOPIC, keyPartition(transactionalId, n)).leader : -1;
      const at = node >= 0 && node !== config.nodeId ? member.addressOf(node, interBroker!.listener) : null;
      if (!at) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      try {
        return await addPartitionOn(peers!, at, {
          transactionalId,
          producerId,
          producerEpoch,
          topic,
          partition,
          verifyOnly,
        });
      } catch (e) {
        log(
          "warn",
          `adding ${topic}-${partition} to transaction ${transactionalId} on broker ${node} failed: ${
            e instanceof Error ? e.message : String(e)
          }`,
        );
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    : undefined;
  // Offsets a transaction staged here for a group that has moved since go to its new coordinator.
  const forwardTxnOffsets = async (
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    groupId: string,
    offsets: PendingOffset[],
  ): Promise<number> => {
    const n = topics.get(OFFSETS_TOPIC)?.partitions.length;
    const node = n ? member!.leader(OFFSETS_TOPIC, keyPartition(groupId, n)).leader : -1;
    const at = node >= 0 && node !== config.nodeId ? member!.addressOf(node, interBroker!.listener) : null;
    if (!at) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    try {
      return await txnOffsetsOn(peers!, at, { transactionalId, producerId, producerEpoch, groupId, offsets });
    } catch (e) {
      log(
        "warn",
        `offsets of ${transactionalId} for group ${groupId} on broker ${node}: ${
          e instanceof Error ? e.message : String(e)
        }`,
      );
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  };
  const newCoordinators = (spread: boolean) => {
    const groups = new GroupCoordinator({ config, topics, now, log, spread });
    const txns = new TransactionCoordinator({
      topics,
      now,
      log,
      maxTimeoutMs: configNumber(config, "transaction.max.timeout.ms"),
      checkIntervalMs: configNumber(config, "transaction.abort.timed.out.transaction.cleanup.interval.ms"),
      spread,
      ...(member
        ? {
          remoteLeader: (t: string, p: number) => {
            if (member.leads(t, p)) return null;
            const l = member.leader(t, p).leader;
            return l >= 0 && l !== config.nodeId ? l : null;
          },
          sendMarkers,
          forwardTxnOffsets,
          // The epoch at which this broker leads the partition (read as it loads it, the beat that gained it).
          coordinatorEpochOf: (p: number) => member.leader(TXN_TOPIC, p).epoch,
          producerIdBlock: async () => (await storage.cluster!.producerIdBlock()) * BigInt(PRODUCER_ID_BLOCK),
        }
        : {}),
    });
    txns.offsetSink = groups;
    return { groups, txns };
  };
  const { groups, txns } = newCoordinators(member !== null);
  // Share groups and the schema registry load their state from their topics on every broker; in a
  // cluster a share group's coordinator keeps its members and each partition's leader its
  // share-partitions (share/coordinator.ts), the registry catches up before each request (docs/cluster.md).
  const share = new ShareCoordinator({
    config,
    topics,
    now,
    log,
    ...(member ? { cluster: member, coordinates: (id: string) => groups.coordinatorError(id) === ErrorCode.NONE } : {}),
  });
  const registry = new SchemaRegistry({
    topics,
    now,
    log,
    ...(member
      ? {
        refreshTopics: () => member.topicsChanged(),
        tailMs: Number(config["broker.heartbeat.interval.ms"] ?? 2000),
      }
      : {}),
  });
  admin.configs.resources.set(
    ResourceType.GROUP,
    new GroupConfigs(share, (name) => {
      const v = config[name];
      return v === undefined || v === null ? undefined : String(v);
    }),
  );
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
    fetchSessions: new FetchSessions(configNumber(config, "max.incremental.fetch.session.cache.slots")),
    groups,
    txns,
    txnRemoteAdd,
    share,
    registry,
    cluster,
    ...admin,
    apiVersions: [...handlers.values()]
      .sort((a, b) => a.api.key - b.api.key)
      // Produce v0-2 are served (up-converted), which also keeps librdkafka before 2.10 compressing
      // with gzip, snappy and lz4: it only does when Produce is listed from v0 (KAFKA-18659).
      .map((h) => ({ apiKey: h.api.key, minVersion: h.versions[0], maxVersion: h.versions[1] })),
  };
  await recoverProducerStates(topics, log);
  if (!member) {
    await groups.start();
    await txns.start();
  }
  /** Loads (or unloads) the groups or transactions of an internal partition this broker gained (or lost). */
  function coordinating(topic: string, partition: number, on: boolean): Promise<boolean> {
    const c = topic === OFFSETS_TOPIC ? services.groups : topic === TXN_TOPIC ? services.txns : null;
    if (!c) return Promise.resolve(true);
    if (on && topic === OFFSETS_TOPIC) {
      // Share groups of the partition: their stored members (share/coordinator.ts); a failure leaves them to rejoin.
      const n = topics.get(OFFSETS_TOPIC)?.partitions.length ?? 0;
      if (n > 0) share.membersOf(partition, n);
    }
    if (on) return c.load(partition);
    c.unload(partition);
    return Promise.resolve(true);
  }
  await share.start();
  await registry.start();
  // Producer-state snapshots bound the replay after an unclean stop (Kafka snapshots at segment roll).
  const snapshotTimer = setInterval(() => {
    snapshotProducerStates(topics, false, (t, p) => cluster.leads(t, p)).catch((e) =>
      log("warn", `producer-state snapshot failed: ${e instanceof Error ? e.message : String(e)}`)
    );
  }, configNumber(config, "chronik.producer.snapshot.interval.ms"));
  undo.push(() => {
    clearInterval(snapshotTimer);
    services.groups.close();
    services.txns.close();
    share.close();
    admin.close();
    registry.close();
    void member?.close();
    peers?.close();
  });
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
      ).catch((e): never => {
        throw listenFailure(e, l.name, l.host, l.port);
      });
      listeners.push(listener);
      const a = advertisedConfig.get(l.name);
      adv.host = (i === 0 ? config.advertisedHost : null) ?? a?.host ?? (wildcard(l.host) ? "127.0.0.1" : l.host);
      if (wildcard(l.host) && ((i === 0 ? config.advertisedHost : null) ?? a?.host ?? "") === "") {
        log(
          "warn",
          `listener ${l.name} binds every interface (${l.host || "0.0.0.0"}) but advertises ${adv.host}: clients on ` +
            "other machines would be told to connect to 127.0.0.1; set --advertised-host (or advertised.listeners)",
        );
      }
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
  undo.push(async () => {
    for (const l of listeners) await l.close().catch(() => {});
  });
  advertised.host = bound[0].advertised.host;
  advertised.port = bound[0].advertised.port;
  if (member) {
    try {
      // The internal topics are created on the first FindCoordinator that needs them (Member.ensureCoordinatorTopic),
      // as Kafka does: by then the brokers started together are all up, so their partitions spread over all of them.
      await member.start();
    } catch (e) {
      for (const l of listeners) await l.close().catch(() => {});
      await member.close().catch(() => {});
      await storage.close().catch(() => {});
      throw e;
    }
  }
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
      http = await runtime.serve({ host: httpHost, port: Number(httpPort) }, (req, info) => app.fetch(req, info))
        .catch((e) => {
          throw listenFailure(e, "HTTP", httpHost, Number(httpPort));
        });
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
        services.groups.close();
        await server.close();
        services.txns.close();
        share.close();
        admin.close();
        // Decided before leaving the cluster (which drops leadership): a snapshot written for a partition this broker
        // does not lead would replace its leader's with this broker's stale (often empty) state.
        const led = new Set<string>();
        for (const t of topics.list()) {
          for (const p of t.partitions) {
            if (cluster.leads(t.name, p.partition)) led.add(partitionKey(t.name, p.partition));
          }
        }
        await member?.close();
        peers?.close();
        clearInterval(snapshotTimer);
        await snapshotProducerStates(topics, true, (t, p) => led.has(partitionKey(t, p))).catch((e) =>
          log("warn", `producer-state snapshot failed: ${e instanceof Error ? e.message : String(e)}`)
        );
        if (!options.store) await storage.close();
        log("info", "stopped");
      })();
      return closed;
    },
  };
}
