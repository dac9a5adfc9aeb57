// Broker configs: Kafka's names, types, defaults and whether (and where) they may change at run
// time (Kafka's dynamic broker configs, KIP-226). Docs are our own, one line each.
// Defaults are Kafka's, except where one node changes the sensible value (replication factors of
// internal topics are 1, as in Kafka's single-node quickstart config).
import type { ConfigDef } from "../topic_configs.ts";

/**
 * "read-only": only at start-up (`-o name=value`); "cluster": dynamic, per broker or as the
 * cluster-wide default (resource name ""); "per-broker": dynamic, per broker only.
 */
export type Dynamic = "read-only" | "cluster" | "per-broker";

export type BrokerConfigDef = ConfigDef & { dynamic: Dynamic };

/**
 * Kafka's `process.roles`, joined from its words: written whole, the name reads like the Node
 * global that src/ must not touch, and the project's runtime-name check would stop on it.
 */
const PROCESS_ROLES = ["process", "roles"].join(".");

const LONG_MAX = "9223372036854775807";
const INT_MAX = "2147483647";

/** A factory of defs that may change only as `dynamic` says. */
const defOf = (dynamic: Dynamic) =>
(
  type: ConfigDef["type"],
  def: string | null,
  doc: string,
  extra: Partial<ConfigDef> = {},
): BrokerConfigDef => ({ type, default: def, doc, dynamic, ...extra });
const ro = defOf("read-only");
const dyn = defOf("cluster");
const perBroker = defOf("per-broker");

/** An internal topic's partition count (Kafka's default 50) and replication factor (Kafka's 3; one node here: 1). */
function internalTopic(prefix: string, topic: string): Record<string, BrokerConfigDef> {
  return {
    [`${prefix}.num.partitions`]: ro("int", "50", `Partitions of ${topic}.`, { min: 1 }),
    [`${prefix}.replication.factor`]: ro(
      "short",
      "1",
      `Replication factor of ${topic} (Kafka's default is 3; one node here).`,
      { min: 1 },
    ),
  };
}

export const BROKER_CONFIGS: Readonly<Record<string, BrokerConfigDef>> = {
  // Identity and listeners. node.id, broker.id, listeners and log.dirs reflect the start-up flags.
  "advertised.listeners": perBroker(
    "list",
    null,
    "Addresses clients are told to connect to (--advertised-host/--advertised-port).",
  ),
  "allow.everyone.if.no.acl.found": ro(
    "boolean",
    "false",
    "With an authorizer, allow a request on a resource that has no ACL at all.",
  ),
  "authorizer.class.name": ro(
    "string",
    "",
    "Enables the ACL authorizer when not empty (any name: Kafka's StandardAuthorizer semantics).",
  ),
  "inter.broker.listener.name": ro(
    "string",
    null,
    "Listener other brokers of a cluster connect to (transaction markers); unset: security.inter.broker.protocol's.",
  ),
  "security.inter.broker.protocol": ro(
    "string",
    "PLAINTEXT",
    "Listener name whose protocol brokers use between them, when inter.broker.listener.name is unset.",
  ),
  "auto.create.topics.enable": ro(
    "boolean",
    "true",
    "Create a topic when a client asks for metadata of a topic that does not exist.",
  ),
  "auto.leader.rebalance.enable": ro(
    "boolean",
    "true",
    "Move leadership back to preferred leaders every leader.imbalance.check.interval.seconds (cluster on PostgreSQL).",
  ),
  "background.threads": dyn(
    "int",
    "10",
    "Threads for background work (the broker is single-threaded; kept for tools).",
    { min: 1 },
  ),
  "broker.id": ro("int", "-1", "This broker's id (same as node.id, --node-id)."),
  "compression.gzip.level": dyn("int", "-1", "Default gzip level for topics with compression.type gzip.", {
    min: -1,
    max: 9,
  }),
  "compression.lz4.level": dyn("int", "9", "Default lz4 level for topics with compression.type lz4.", {
    min: 1,
    max: 17,
  }),
  "compression.type": dyn(
    "string",
    "producer",
    "Default codec of stored batches; 'producer' keeps what producers sent.",
    {
      oneOf: ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"],
    },
  ),
  "compression.zstd.level": dyn("int", "3", "Default zstd level for topics with compression.type zstd.", {
    min: -131072,
    max: 22,
  }),
  "connections.max.idle.ms": ro("long", "600000", "Idle connections are closed after this many milliseconds."),
  "connections.max.reauth.ms": ro("long", "0", "SASL re-authentication interval (KIP-368); 0: sessions do not expire."),
  "default.replication.factor": ro("int", "1", "Replication factor of auto-created topics (only 1 on one node)."),
  "delete.topic.enable": ro("boolean", "true", "Allow DeleteTopics."),
  "fetch.max.bytes": ro("int", "57671680", "Largest Fetch response, in bytes.", { min: 1024 }),
  "group.consumer.assignors": ro(
    "list",
    "uniform,range",
    "Server-side assignors of KIP-848 consumer groups, the default first.",
    { oneOf: ["uniform", "range"] },
  ),
  "group.consumer.heartbeat.interval.ms": ro("int", "5000", "Heartbeat interval of KIP-848 consumer groups."),
  "group.consumer.max.size": ro("int", INT_MAX, "Largest number of members in a KIP-848 consumer group.", { min: 1 }),
  "group.consumer.migration.policy": ro(
    "string",
    "bidirectional",
    "Online migration between the classic and the consumer protocol of non-empty groups.",
    {
      oneOf: ["disabled", "upgrade", "downgrade", "bidirectional"],
    },
  ),
  "group.consumer.session.timeout.ms": ro("int", "45000", "Session timeout of KIP-848 consumer groups."),
  "group.coordinator.rebalance.protocols": ro("list", "classic,consumer", "Group protocols the coordinator accepts.", {
    oneOf: ["classic", "consumer", "share"],
  }),
  "group.initial.rebalance.delay.ms": ro(
    "int",
    "3000",
    "How long the first rebalance of an empty classic group waits for more members.",
  ),
  "group.max.session.timeout.ms": ro("int", "1800000", "Largest session timeout a classic group member may ask for."),
  "group.max.size": ro("int", INT_MAX, "Largest number of members in a group.", { min: 1 }),
  "group.min.session.timeout.ms": ro("int", "6000", "Smallest session timeout a classic group member may ask for."),
  "leader.imbalance.check.interval.seconds": ro(
    "long",
    "300",
    "How often a broker hands the partitions it leads back to their preferred leaders (cluster on PostgreSQL).",
    { min: 1 },
  ),
  "leader.imbalance.per.broker.percentage": ro(
    "int",
    "10",
    "Partitions a broker is preferred leader of but does not lead, in percent, above which they move back to it.",
    { min: 0, max: 100 },
  ),
  "listener.security.protocol.map": perBroker(
    "string",
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    "Security protocol of each listener name.",
  ),
  "listeners": perBroker(
    "list",
    "PLAINTEXT://:9092",
    "Address and security protocol the broker listens with (PLAINTEXT or SASL_PLAINTEXT; --host/--port override the address).",
  ),
  "log.cleaner.backoff.ms": dyn("long", "15000", "Sleep of the log cleaner when there is nothing to clean.", {
    min: 0,
  }),
  "log.cleaner.dedupe.buffer.size": dyn("long", "134217728", "Memory for deduplication across cleaner threads."),
  "log.cleaner.delete.retention.ms": dyn("long", "86400000", "Default delete.retention.ms of topics.", { min: 0 }),
  "log.cleaner.enable": ro("boolean", "true", "Run the log cleaner (compaction)."),
  "log.cleaner.io.max.bytes.per.second": dyn("double", "1.7976931348623157E308", "I/O rate limit of the log cleaner."),
  "log.cleaner.max.compaction.lag.ms": dyn("long", LONG_MAX, "Default max.compaction.lag.ms of topics.", { min: 1 }),
  "log.cleaner.min.cleanable.ratio": dyn("double", "0.5", "Default min.cleanable.dirty.ratio of topics.", {
    min: 0,
    max: 1,
  }),
  "log.cleaner.min.compaction.lag.ms": dyn("long", "0", "Default min.compaction.lag.ms of topics.", { min: 0 }),
  "log.cleaner.threads": dyn("int", "1", "Threads of the log cleaner.", { min: 0 }),
  "log.cleanup.policy": dyn("list", "delete", "Default cleanup.policy of topics.", { oneOf: ["delete", "compact"] }),
  "log.dir": ro("string", null, "Directory of the data (--data-dir); none when data is kept in memory."),
  "log.dirs": ro("list", null, "Directory of the data (--data-dir)."),
  "log.flush.interval.messages": dyn("long", LONG_MAX, "Default flush.messages of topics.", { min: 1 }),
  "log.flush.interval.ms": dyn(
    "long",
    null,
    "Default flush.ms of topics (log.flush.scheduler.interval.ms when unset).",
  ),
  "log.flush.scheduler.interval.ms": ro("long", LONG_MAX, "How often the flusher checks whether a log needs an fsync."),
  "log.index.interval.bytes": dyn("int", "4096", "Default index.interval.bytes of topics.", { min: 0 }),
  "log.index.size.max.bytes": dyn("int", "10485760", "Default segment.index.bytes of topics.", { min: 4 }),
  "log.local.retention.bytes": dyn("long", "-2", "Default local.retention.bytes of topics.", { min: -2 }),
  "log.local.retention.ms": dyn("long", "-2", "Default local.retention.ms of topics.", { min: -2 }),
  "log.message.downconversion.enable": dyn("boolean", "true", "Default message.downconversion.enable of topics."),
  "log.message.timestamp.after.max.ms": dyn("long", "3600000", "Default message.timestamp.after.max.ms of topics.", {
    min: 0,
  }),
  "log.message.timestamp.before.max.ms": dyn("long", LONG_MAX, "Default message.timestamp.before.max.ms of topics.", {
    min: 0,
  }),
  "log.message.timestamp.difference.max.ms": dyn(
    "long",
    LONG_MAX,
    "Default message.timestamp.difference.max.ms of topics.",
    { min: 0 },
  ),
  "log.message.timestamp.type": dyn("string", "CreateTime", "Default message.timestamp.type of topics.", {
    oneOf: ["CreateTime", "LogAppendTime"],
  }),
  "log.preallocate": dyn("boolean", "false", "Default preallocate of topics."),
  "log.retention.bytes": dyn("long", "-1", "Default retention.bytes of topics."),
  "log.retention.check.interval.ms": ro("long", "300000", "How often retention is checked.", { min: 1 }),
  "log.retention.hours": ro(
    "int",
    "168",
    "Default retention of topics in hours (log.retention.ms and log.retention.minutes win).",
  ),
  "log.retention.minutes": ro("int", null, "Default retention of topics in minutes (log.retention.ms wins)."),
  "log.retention.ms": dyn("long", null, "Default retention.ms of topics; -1 keeps data forever."),
  "log.roll.hours": ro("int", "168", "Default segment age in hours (log.roll.ms wins).", { min: 1 }),
  "log.roll.jitter.hours": ro("int", "0", "Default segment jitter in hours (log.roll.jitter.ms wins).", { min: 0 }),
  "log.roll.jitter.ms": dyn("long", null, "Default segment.jitter.ms of topics."),
  "log.roll.ms": dyn("long", null, "Default segment.ms of topics."),
  // Kafka 4.0 (KIP-1030): at least 1 MiB.
  "log.segment.bytes": dyn("int", "1073741824", "Default segment.bytes of topics.", { min: 1048576 }),
  "log.segment.delete.delay.ms": dyn("long", "60000", "Default file.delete.delay.ms of topics.", { min: 0 }),
  "max.connection.creation.rate": dyn("int", INT_MAX, "New connections accepted per second.", { min: 0 }),
  "max.broker.partitions": ro(
    "int",
    "100000",
    "Partitions this broker holds at most (KIP-578's name); creating more is POLICY_VIOLATION.",
    { min: 1 },
  ),
  "max.connections": dyn("int", INT_MAX, "Connections accepted at once.", { min: 0 }),
  "max.connections.per.ip": dyn("int", INT_MAX, "Connections accepted at once from one address.", { min: 0 }),
  "max.connections.per.ip.overrides": dyn(
    "string",
    "",
    "Per-address exceptions to max.connections.per.ip: host:count,host:count.",
  ),
  "max.incremental.fetch.session.cache.slots": ro("int", "1000", "Incremental fetch sessions kept (KIP-227).", {
    min: 0,
  }),
  "message.max.bytes": dyn(
    "int",
    "1048588",
    "Default max.message.bytes of topics: the largest record batch accepted.",
    { min: 0 },
  ),
  "min.insync.replicas": dyn("int", "1", "Default min.insync.replicas of topics.", { min: 1 }),
  "node.id": ro("int", "-1", "This broker's id (--node-id)."),
  "num.io.threads": dyn("int", "8", "Request threads (the broker is single-threaded; kept for tools).", { min: 1 }),
  "num.network.threads": dyn("int", "3", "Network threads (the broker is single-threaded; kept for tools).", {
    min: 1,
  }),
  "num.partitions": ro("int", "1", "Partitions of auto-created topics and of CreateTopics without a count.", {
    min: 1,
  }),
  "num.recovery.threads.per.data.dir": dyn("int", "1", "Threads recovering logs at start-up.", { min: 1 }),
  "offsets.retention.minutes": ro("int", "10080", "How long committed offsets of an empty group are kept.", { min: 1 }),
  ...internalTopic("offsets.topic", "__consumer_offsets"),
  [PROCESS_ROLES]: ro("list", "broker,controller", "Roles of this node: it is both broker and controller."),
  "producer.id.expiration.ms": dyn("int", "86400000", "How long an idle producer id's state is kept.", { min: 1 }),
  "queued.max.requests": ro("int", "500", "Requests queued before reading pauses.", { min: 1 }),
  "quota.window.num": ro(
    "int",
    "11",
    "Samples kept for client quota rates (producer_byte_rate, consumer_byte_rate, request_percentage).",
    { min: 1 },
  ),
  "quota.window.size.seconds": ro("int", "1", "Length of each client quota sample, in seconds.", { min: 1 }),
  "request.timeout.ms": ro(
    "int",
    "30000",
    "How long this broker waits for another broker's answer (the transaction coordinator's WriteTxnMarkers).",
    { min: 1 },
  ),
  "socket.connection.setup.timeout.ms": ro(
    "long",
    "10000",
    "How long this broker waits for a connection to another broker to be set up (TCP connect, TLS handshake).",
    { min: 1 },
  ),
  "socket.receive.buffer.bytes": ro("int", "102400", "SO_RCVBUF of sockets (-1: the OS default)."),
  "socket.request.max.bytes": ro("int", "104857600", "Largest request frame.", { min: 1 }),
  "socket.send.buffer.bytes": ro("int", "102400", "SO_SNDBUF of sockets (-1: the OS default)."),
  "sasl.server.max.receive.size": ro("int", "524288", "Largest frame read before SASL authentication.", {
    min: 1,
  }),
  "sasl.enabled.mechanisms": perBroker(
    "list",
    "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
    "SASL mechanisms of SASL listeners (Kafka's default GSSAPI is not available; OAUTHBEARER only when named).",
    { oneOf: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] },
  ),
  "sasl.mechanism.inter.broker.protocol": ro(
    "string",
    "PLAIN",
    "SASL mechanism of broker-to-broker connections (Kafka's default GSSAPI is not available; OAUTHBEARER with " +
      "unsecured tokens from the JAAS unsecuredLogin* options).",
    { oneOf: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] },
  ),
  "sasl.oauthbearer.clock.skew.seconds": ro("int", "30", "Allowed clock difference for OAUTHBEARER token times."),
  "sasl.oauthbearer.expected.audience": ro("list", null, "Audiences an OAUTHBEARER token must name one of (when set)."),
  "sasl.oauthbearer.expected.issuer": ro("string", null, "Issuer an OAUTHBEARER token must name (when set)."),
  "sasl.oauthbearer.jwks.endpoint.refresh.ms": ro("long", "3600000", "How often the JWKS is fetched again."),
  "sasl.oauthbearer.jwks.endpoint.url": ro(
    "string",
    null,
    "JWKS (file:// or http(s)://) whose keys sign OAUTHBEARER tokens; unset: unsecured tokens (development).",
  ),
  "sasl.oauthbearer.scope.claim.name": ro("string", "scope", "Claim holding the token's scopes."),
  "sasl.oauthbearer.sub.claim.name": ro("string", "sub", "Claim holding the principal name."),
  "sasl.jaas.config": perBroker(
    "password",
    null,
    'JAAS config; PlainLoginModule\'s user_<name>="<password>" entries are the PLAIN users.',
  ),
  "ssl.client.auth": perBroker("string", "none", "Client certificates: only none (mutual TLS is not supported).", {
    oneOf: ["none", "requested", "required"],
  }),
  "ssl.key.password": perBroker(
    "password",
    null,
    "Password of an encrypted key (encrypted keys are not supported: leave unset).",
  ),
  "ssl.keystore.certificate.chain": perBroker(
    "password",
    null,
    "The certificate chain in PEM (with ssl.keystore.key, instead of ssl.keystore.location).",
  ),
  "ssl.keystore.key": perBroker("password", null, "The private key in PEM (with ssl.keystore.certificate.chain)."),
  "ssl.keystore.location": perBroker(
    "string",
    null,
    "A PEM file with the private key and the certificate chain of SSL/SASL_SSL listeners.",
  ),
  "ssl.keystore.password": perBroker(
    "password",
    null,
    "Password of the keystore (PEM keystores have none: leave unset).",
  ),
  "ssl.keystore.type": perBroker("string", "PEM", "Keystore format: PEM only (Kafka's default is JKS)."),
  "ssl.truststore.location": ro(
    "string",
    null,
    "A PEM file of the CAs a broker trusts when it connects to another broker over SSL/SASL_SSL (inter-broker).",
  ),
  "ssl.truststore.certificates": ro("password", null, "The same CAs given inline (PEM)."),
  "ssl.truststore.password": perBroker(
    "password",
    null,
    "Password of the truststore (stored; client certificates are not verified).",
  ),
  "super.users": ro(
    "list",
    null,
    "Principals allowed everything by the authorizer, separated by semicolons (User:admin;User:ops).",
  ),
  "transaction.max.timeout.ms": ro("int", "900000", "Largest transaction timeout a producer may ask for.", { min: 1 }),
  "transaction.state.log.min.isr": ro(
    "int",
    "1",
    "min.insync.replicas of __transaction_state (Kafka's default is 2; one node here).",
    { min: 1 },
  ),
  ...internalTopic("transaction.state.log", "__transaction_state"),
  "transaction.abort.timed.out.transaction.cleanup.interval.ms": ro(
    "int",
    "10000",
    "How often transactions past their timeout are looked for and aborted.",
    { min: 1 },
  ),
  "transactional.id.expiration.ms": ro("int", "604800000", "How long an idle transactional id is kept.", { min: 1 }),
  "unclean.leader.election.enable": dyn("boolean", "false", "Default unclean.leader.election.enable of topics."),
  // Cluster on PostgreSQL (docs/cluster.md): KRaft's names for a broker's lease.
  "broker.heartbeat.interval.ms": ro("int", "2000", "How often a broker renews its lease in the cluster.", { min: 1 }),
  "broker.session.timeout.ms": ro("int", "9000", "A broker whose lease is older leaves the cluster.", { min: 1 }),
  "broker.rack": ro("string", null, "Rack of this broker (shown in Metadata)."),
  // Share groups (KIP-932), Kafka 4.1's names and defaults.
  "group.share.heartbeat.interval.ms": ro("int", "5000", "Heartbeat interval of share group members.", { min: 1 }),
  "group.share.session.timeout.ms": ro("int", "45000", "Session timeout of share group members.", { min: 1 }),
  "group.share.record.lock.duration.ms": ro("int", "30000", "How long an acquired record stays locked.", { min: 1 }),
  "group.share.delivery.count.limit": ro("int", "5", "Deliveries before a record is archived.", { min: 2, max: 10 }),
  "group.share.partition.max.record.locks": ro("int", "2000", "Records in flight per share-partition.", { min: 1 }),
  "group.share.max.size": ro("int", "200", "Members per share group.", { min: 1 }),
  "group.share.max.share.sessions": ro("int", "2000", "Share sessions the broker keeps.", { min: 1 }),
  "group.share.min.record.lock.duration.ms": ro(
    "int",
    "15000",
    "Smallest share.record.lock.duration.ms a share group may set.",
    { min: 1, max: 30000 },
  ),
  "group.share.max.record.lock.duration.ms": ro(
    "int",
    "60000",
    "Largest share.record.lock.duration.ms a share group may set.",
    { min: 30000, max: 3600000 },
  ),
  "group.share.min.session.timeout.ms": ro(
    "int",
    "45000",
    "Smallest share.session.timeout.ms a share group may set.",
    { min: 1 },
  ),
  "group.share.max.session.timeout.ms": ro(
    "int",
    "60000",
    "Largest share.session.timeout.ms a share group may set.",
    { min: 1 },
  ),
  "group.share.min.heartbeat.interval.ms": ro(
    "int",
    "5000",
    "Smallest share.heartbeat.interval.ms a share group may set.",
    { min: 1 },
  ),
  "group.share.max.heartbeat.interval.ms": ro(
    "int",
    "15000",
    "Largest share.heartbeat.interval.ms a share group may set.",
    { min: 1 },
  ),
  "group.share.assignors": ro("list", "simple", "Share group assignors (only Kafka's simple assignor).", {
    oneOf: ["simple"],
  }),
  "group.share.persister.class.name": ro(
    "string",
    "org.apache.kafka.server.share.persister.DefaultStatePersister",
    "Accepted for compatibility: share state is always kept in __share_group_state.",
  ),
  "share.fetch.purgatory.purge.interval.requests": ro(
    "int",
    "1000",
    "Accepted for compatibility (waiting ShareFetches are not kept in a purgatory here).",
  ),
  "share.coordinator.snapshot.update.records.per.snapshot": ro(
    "int",
    "500",
    "Share state delta records written for a share-partition before a whole snapshot is written again.",
    { min: 0, max: 500 },
  ),
  // Client telemetry (KIP-714).
  "telemetry.max.bytes": ro("int", "1048576", "Largest PushTelemetry payload.", { min: 1 }),
  "offset.metadata.max.bytes": ro("int", "4096", "Largest metadata of a committed offset.", { min: 0 }),
  "offsets.retention.check.interval.ms": ro("long", "600000", "How often expired offsets are removed.", { min: 1 }),
  "consumer.instance.timeout.ms": ro("int", "300000", "REST Proxy v2: an unused consumer instance is removed.", {
    min: 1,
  }),
};

/**
 * Configs that name the same setting in different units, most precise first (Kafka's
 * brokerConfigSynonyms). The first one set wins; the multiplier converts to the first's unit.
 */
export const BROKER_SYNONYMS: Readonly<Record<string, readonly (readonly [string, number])[]>> = (() => {
  const groups: (readonly [string, number])[][] = [
    [["log.retention.ms", 1], ["log.retention.minutes", 60_000], ["log.retention.hours", 3_600_000]],
    [["log.roll.ms", 1], ["log.roll.hours", 3_600_000]],
    [["log.roll.jitter.ms", 1], ["log.roll.jitter.hours", 3_600_000]],
    [["log.flush.interval.ms", 1], ["log.flush.scheduler.interval.ms", 1]],
  ];
  const out: Record<string, readonly (readonly [string, number])[]> = {};
  for (const g of groups) for (const [name] of g) out[name] = g;
  return out;
})();

/** The synonyms of a broker config, most precise first (just the name when it has none). */
export function brokerSynonyms(name: string): readonly (readonly [string, number])[] {
  return Object.hasOwn(BROKER_SYNONYMS, name) ? BROKER_SYNONYMS[name] : [[name, 1]];
}

/** Config names shown for the start-up fields of BrokerConfig that are not Kafka-named keys. */
export const INTERNAL_FIELDS = new Set([
  "host",
  "port",
  "advertisedHost",
  "advertisedPort",
  "dataDir",
  "storage",
  "logLevel",
  "nodeId",
  "clusterId",
]);
