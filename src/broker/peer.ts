// Requests from this broker to another broker of the cluster (the transaction coordinator's
// WriteTxnMarkers to partition leaders), with the generated codec through the client connection
// (src/client/connection.ts: ApiVersions, then SASL when asked). One connection per peer, opened on first
// use and again after a failure; a request unanswered within the timeout fails (and is retried by the
// caller). Which listener of the peer, and how to speak to it, is Kafka's inter-broker configuration
// (interBrokerOf): inter.broker.listener.name, else the listener named by security.inter.broker.protocol,
// else the one named PLAINTEXT, else the first; SSL/SASL_SSL trust the CAs of ssl.truststore.location (PEM);
// SASL_* authenticate with sasl.mechanism.inter.broker.protocol (PLAIN, SCRAM-SHA-256/512) as the
// username/password of the listener's JAAS config (listener.name.<l>.<mechanism>.sasl.jaas.config, else
// sasl.jaas.config), as a Kafka broker logs in to its peers; or OAUTHBEARER with an unsecured token minted per
// connection from that JAAS config's unsecuredLogin* options, as Kafka's default
// OAuthBearerUnsecuredLoginCallbackHandler does (unsecuredLoginStringClaim_sub="broker"; a token endpoint,
// sasl.oauthbearer.token.endpoint.url, is not supported between brokers).
import type { BrokerConfig } from "../config.ts";
import type { Loose, SaslOptions } from "../client/connection.ts";
import { KafkaConnection } from "../client/connection.ts";
import type { Api } from "../protocol/schema.ts";
import type { ClientTlsOptions, FileSystem, Runtime } from "../runtime.ts";
import { AddPartitionsToTxn } from "../protocol/messages/24_add_partitions_to_txn.ts";
import { WriteTxnMarkers } from "../protocol/messages/27_write_txn_markers.ts";
import { TxnOffsetCommit } from "../protocol/messages/28_txn_offset_commit.ts";
import { partitionKey } from "./fetch_sessions.ts";
import type { PendingOffset, RemoteMarker } from "./txn/coordinator.ts";

/** How this broker reaches its peers: the listener name, and TLS and SASL when that listener needs them. */
export type InterBroker = {
  listener: string;
  protocol: string;
  tls?: ClientTlsOptions;
  sasl?: SaslOptions;
  /** OAUTHBEARER: mints this broker's token at `nowMs` (one per connection, so a reconnect never sends an old one). */
  token?: (nowMs: number) => string;
};

/** The JAAS option `name="value"` of a JAAS config line (backslash escapes undone), or null. */
function jaasOption(jaas: string, name: string): string | null {
  const m = new RegExp(`\\b${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(jaas);
  return m ? m[1].replace(/\\(.)/g, "$1") : null;
}

function b64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * An unsecured OAUTHBEARER token minter from a JAAS config's options, as Kafka's
 * OAuthBearerUnsecuredLoginCallbackHandler reads them: unsecuredLoginStringClaim_<name>,
 * unsecuredLoginNumberClaim_<name>, unsecuredLoginListClaim_<name> (its first character is the separator),
 * unsecuredLoginPrincipalClaimName (sub) whose string claim is required, unsecuredLoginLifetimeSeconds (3600).
 * The token is a JWT with alg none, iat and exp. Throws when the principal claim is missing.
 */
export function unsecuredLoginToken(jaas: string): (nowMs: number) => string {
  const principalClaim = jaasOption(jaas, "unsecuredLoginPrincipalClaimName") ?? "sub";
  const lifetime = Number(jaasOption(jaas, "unsecuredLoginLifetimeSeconds") ?? 3600);
  const claims: Record<string, unknown> = {};
  for (const m of jaas.matchAll(/\bunsecuredLogin(String|Number|List)Claim_([A-Za-z0-9_.-]+)\s*=/g)) {
    const name = m[2];
    const raw = jaasOption(jaas, `unsecuredLogin${m[1]}Claim_${name}`);
    if (raw === null) continue;
    claims[name] = m[1] === "String"
      ? raw
      : m[1] === "Number"
      ? Number(raw)
      : raw.length === 0
      ? []
      : raw.slice(1).split(raw[0]).filter((x) => x !== "");
  }
  if (typeof claims[principalClaim] !== "string" || claims[principalClaim] === "") {
    throw new Error(
      `sasl.mechanism.inter.broker.protocol OAUTHBEARER: give this broker's principal as ` +
        `unsecuredLoginStringClaim_${principalClaim}="..." in its OAuthBearerLoginModule JAAS config`,
    );
  }
  if (!Number.isFinite(lifetime) || lifetime <= 0) {
    throw new Error(`unsecuredLoginLifetimeSeconds must be a positive number of seconds`);
  }
  const header = b64url(JSON.stringify({ alg: "none" }));
  return (nowMs) => {
    const iat = Math.floor(nowMs / 1000);
    return `${header}.${b64url(JSON.stringify({ ...claims, iat, exp: iat + lifetime }))}.`;
  };
}

/**
 * The inter-broker listener among this broker's (its peers are configured alike, as Kafka assumes) and
 * how to connect to it. Throws, at start, on a listener that does not exist or missing credentials.
 */
export async function interBrokerOf(
  config: BrokerConfig,
  listeners: readonly { name: string; protocol: string; mechanisms?: readonly string[] }[],
  fs: FileSystem,
): Promise<InterBroker> {
  const str = (name: string): string | null => {
    const v = config[name];
    return v === undefined || v === null || v === "" ? null : String(v);
  };
  const named = str("inter.broker.listener.name") ?? str("security.inter.broker.protocol");
  const l = named !== null
    ? listeners.find((x) => x.name === named.toUpperCase())
    : listeners.find((x) => x.name === "PLAINTEXT") ?? listeners[0];
  if (!l) {
    throw new Error(
      `inter.broker.listener.name ${named} is not one of the listeners (${listeners.map((x) => x.name).join(", ")})`,
    );
  }
  const out: InterBroker = { listener: l.name, protocol: l.protocol };
  const of = (name: string) => str(`listener.name.${l.name.toLowerCase()}.${name}`) ?? str(name);
  if (l.protocol === "SSL" || l.protocol === "SASL_SSL") {
    const location = of("ssl.truststore.location");
    let ca = of("ssl.truststore.certificates") ?? undefined;
    if (location !== null) {
      const bytes = await fs.readFile(location);
      if (bytes === null) throw new Error(`ssl.truststore.location ${location} does not exist`);
      ca = new TextDecoder().decode(bytes);
    }
    out.tls = ca !== undefined ? { ca } : {};
  }
  if (l.protocol === "SASL_PLAINTEXT" || l.protocol === "SASL_SSL") {
    const mechanism = (str("sasl.mechanism.inter.broker.protocol") ?? "PLAIN").toUpperCase();
    if (
      mechanism !== "PLAIN" && mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512" &&
      mechanism !== "OAUTHBEARER"
    ) {
      throw new Error(
        `sasl.mechanism.inter.broker.protocol ${mechanism} is not supported (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER)`,
      );
    }
    if (l.mechanisms && !l.mechanisms.includes(mechanism)) {
      // As Kafka requires: the peers' listener must take the mechanism this broker logs in with.
      throw new Error(
        `sasl.mechanism.inter.broker.protocol ${mechanism} is not enabled on the inter-broker listener ${l.name} ` +
          `(sasl.enabled.mechanisms: ${l.mechanisms.join(", ") || "none"})`,
      );
    }
    const jaas = of(`${mechanism.toLowerCase()}.sasl.jaas.config`) ?? str("sasl.jaas.config") ?? "";
    if (mechanism === "OAUTHBEARER") {
      if (of("sasl.oauthbearer.token.endpoint.url") !== null) {
        throw new Error(
          "sasl.mechanism.inter.broker.protocol OAUTHBEARER with sasl.oauthbearer.token.endpoint.url is not supported: " +
            "brokers log in to each other with unsecured tokens (unsecuredLoginStringClaim_sub) only",
        );
      }
      out.token = unsecuredLoginToken(jaas);
      out.sasl = { mechanism };
      return out;
    }
    const field = (name: string) => jaasOption(jaas, name);
    const username = field("username");
    const password = field("password");
    if (username === null || password === null) {
      throw new Error(
        `the inter-broker listener ${l.name} is ${l.protocol}: give this broker's own username="..." password="..." ` +
          `in listener.name.${l.name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config (or sasl.jaas.config)`,
      );
    }
    out.sasl = { mechanism, username, password };
  }
  return out;
}

export class Peers {
  #runtime: Runtime;
  #clientId: string;
  #security: InterBroker | null;
  #timeoutMs: number;
  #connectTimeoutMs: number;
  #conns = new Map<string, Promise<KafkaConnection>>();

  constructor(
    runtime: Runtime,
    clientId: string,
    security: InterBroker | null = null,
    timeoutMs = 30_000,
    connectTimeoutMs = 10_000,
  ) {
    this.#runtime = runtime;
    this.#clientId = clientId;
    this.#security = security;
    this.#timeoutMs = timeoutMs;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /** Sends one request to host:port and resolves with the decoded response. */
  async send<Q, S>(host: string, port: number, api: Api<Q, S>, version: number, body: Loose<Q>): Promise<S> {
    const k = `${host}:${port}`;
    let p = this.#conns.get(k);
    if (!p) {
      const sec = this.#security;
      p = KafkaConnection.open(this.#runtime, host, port, {
        clientId: this.#clientId,
        tls: sec?.tls,
        sasl: sec?.sasl && sec.token ? { ...sec.sasl, token: sec.token(this.#runtime.now()) } : sec?.sasl,
        requestTimeoutMs: this.#timeoutMs,
        connectTimeoutMs: this.#connectTimeoutMs,
      });
      this.#conns.set(k, p);
    }
    try {
      return await (await p).send(api, version, body);
    } catch (e) {
      // A broken or silent connection is dropped: the next request opens a fresh one.
      if (this.#conns.get(k) === p) this.#conns.delete(k);
      p.then((c) => c.close(), () => {});
      throw e;
    }
  }

  close(): void {
    for (const p of this.#conns.values()) p.then((c) => c.close(), () => {});
    this.#conns.clear();
  }
}

/** Writes one transaction's markers on the broker at `at` (WriteTxnMarkers v1); error codes by partitionKey. */
export async function writeMarkersOn(
  peers: Peers,
  at: { host: string; port: number },
  m: RemoteMarker,
): Promise<Map<string, number>> {
  const topicsOf = new Map<string, number[]>();
  for (const p of m.partitions) topicsOf.set(p.topic, [...(topicsOf.get(p.topic) ?? []), p.partition]);
  const r = await peers.send(at.host, at.port, WriteTxnMarkers, 1, {
    markers: [{
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      transactionResult: m.commit,
      coordinatorEpoch: m.coordinatorEpoch,
      topics: [...topicsOf].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    }],
  });
  const codes = new Map<string, number>();
  for (const t of r.markers?.[0]?.topics ?? []) {
    for (const p of t.partitions ?? []) codes.set(partitionKey(t.name!, p.partitionIndex!), p.errorCode ?? 0);
  }
  return codes;
}

/**
 * Adds one partition to a transaction at its coordinator, the broker at `at` (AddPartitionsToTxn v5, the
 * batched broker form: transactions v2's implicit add), or with `verifyOnly` asks whether it is in it
 * (KIP-890 part 1); the partition's error code.
 */
export async function addPartitionOn(
  peers: Peers,
  at: { host: string; port: number },
  t: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    topic: string;
    partition: number;
    verifyOnly: boolean;
  },
): Promise<number> {
  const r = await peers.send(at.host, at.port, AddPartitionsToTxn, 5, {
    transactions: [{
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      verifyOnly: t.verifyOnly,
      topics: [{ name: t.topic, partitions: [t.partition] }],
    }],
  });
  if ((r.errorCode ?? 0) !== 0) return r.errorCode!;
  return r.resultsByTransaction?.[0]?.topicResults?.[0]?.resultsByPartition?.[0]?.partitionErrorCode ?? 0;
}

/** Stages a transaction's offsets at the group's coordinator, the broker at `at` (TxnOffsetCommit v3); an error code. */
export async function txnOffsetsOn(
  peers: Peers,
  at: { host: string; port: number },
  t: { transactionalId: string; producerId: bigint; producerEpoch: number; groupId: string; offsets: PendingOffset[] },
): Promise<number> {
  const byTopic = new Map<string, PendingOffset[]>();
  for (const o of t.offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
  const r = await peers.send(at.host, at.port, TxnOffsetCommit, 3, {
    transactionalId: t.transactionalId,
    groupId: t.groupId,
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [...byTopic].map(([name, offsets]) => ({
      name,
      partitions: offsets.map((o) => ({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch,
        committedMetadata: o.metadata,
      })),
    })),
  });
  for (const topic of r.topics ?? []) {
    for (const p of topic.partitions ?? []) if ((p.errorCode ?? 0) !== 0) return p.errorCode!;
  }
  return 0;
}
