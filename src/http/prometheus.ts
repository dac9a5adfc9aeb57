// /metrics in the Prometheus text exposition format (version 0.0.4).
import { LATENCY_BUCKETS_MS } from "../broker/metrics.ts";
import type { Services } from "../broker/services.ts";
import { groupLags } from "./lag.ts";

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

class Out {
  private lines: string[] = [];
  family(name: string, type: "counter" | "gauge" | "histogram" | "summary", help: string) {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Record<string, string | number>, value: number) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(String(v))}"`).join(",");
    this.lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : Number.isNaN(value) ? "NaN" : 0}`);
  }
  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

export function prometheus(svc: Services): string {
  const m = svc.metrics;
  const o = new Out();
  o.family("chronik_up", "gauge", "1 while the broker serves.");
  o.sample("chronik_up", {}, 1);
  o.family("chronik_uptime_seconds", "gauge", "Seconds since the broker started.");
  o.sample("chronik_uptime_seconds", {}, (svc.now() - m.startedAt) / 1000);
  o.family("chronik_requests_total", "counter", "Requests handled, by API.");
  for (const [key, name] of m.apiNames) {
    if (m.requests[key] > 0) o.sample("chronik_requests_total", { api: name }, m.requests[key]);
  }
  o.family(
    "chronik_request_failures_total",
    "counter",
    "Requests whose handler failed (the connection was closed), by API.",
  );
  for (const [key, name] of m.apiNames) {
    if (m.failures[key] > 0) o.sample("chronik_request_failures_total", { api: name }, m.failures[key]);
  }
  o.family("chronik_network_bytes_total", "counter", "Bytes received and sent on Kafka connections.");
  o.sample("chronik_network_bytes_total", { direction: "in" }, m.bytesIn);
  o.sample("chronik_network_bytes_total", { direction: "out" }, m.bytesOut);
  o.family("chronik_connections", "gauge", "Open Kafka connections.");
  o.sample("chronik_connections", {}, m.connectionsOpen());
  o.family("chronik_connections_total", "counter", "Kafka connections accepted.");
  o.sample("chronik_connections_total", {}, m.connectionsTotal);
  const topics = [...svc.topics.list()];
  o.family("chronik_topics", "gauge", "Topics, internal ones included.");
  o.sample("chronik_topics", {}, topics.length);
  o.family("chronik_partition_log_end_offset", "gauge", "Log end offset (high watermark) per partition.");
  for (const t of topics) {
    t.partitions.forEach((p, i) =>
      o.sample("chronik_partition_log_end_offset", { topic: t.name, partition: i }, p.logEndOffset)
    );
  }
  o.family("chronik_partition_log_start_offset", "gauge", "Log start offset per partition.");
  for (const t of topics) {
    t.partitions.forEach((p, i) =>
      o.sample("chronik_partition_log_start_offset", { topic: t.name, partition: i }, p.logStartOffset)
    );
  }
  o.family("chronik_partition_size_bytes", "gauge", "Stored bytes per partition.");
  for (const t of topics) {
    t.partitions.forEach((p, i) =>
      o.sample("chronik_partition_size_bytes", { topic: t.name, partition: i }, p.sizeInBytes)
    );
  }
  const members: [Record<string, string | number>, number][] = [];
  const lag: [Record<string, string | number>, number][] = [];
  for (const g of svc.groups.groups.values()) {
    if (g.state === "Dead") continue;
    members.push([{ group: g.groupId, type: g.kind, state: g.state }, g.members.size]);
    for (const x of groupLags(svc, g.offsets)) {
      if (x.lag !== null) lag.push([{ group: g.groupId, topic: x.topic, partition: x.partition }, x.lag]);
    }
  }
  o.family("chronik_consumer_group_members", "gauge", "Members per consumer group.");
  for (const [labels, v] of members) o.sample("chronik_consumer_group_members", labels, v);
  o.family("chronik_consumer_group_lag", "gauge", "Log end offset minus committed offset, per group and partition.");
  for (const [labels, v] of lag) o.sample("chronik_consumer_group_lag", labels, v);
  o.family(
    "chronik_client_metric",
    "gauge",
    "Metrics clients pushed (KIP-714), latest value per metric and data point attributes.",
  );
  for (const p of svc.clientMetrics.points()) {
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(p.attributes)) attrs[k.replace(/[^a-zA-Z0-9_]/g, "_")] = v;
    o.sample("chronik_client_metric", {
      ...attrs,
      metric: p.name,
      client_instance_id: p.client.id,
      client_id: p.client.clientId,
      client_software_name: p.client.softwareName,
      client_software_version: p.client.softwareVersion,
    }, p.value);
  }
  kafkaMetrics(svc, o);
  return o.text();
}

/** The quantiles Kafka's histograms export, as the JMX exporter's Kafka rules label them. */
const QUANTILES: readonly [string, number][] = [
  ["0.50", 0.5],
  ["0.75", 0.75],
  ["0.95", 0.95],
  ["0.98", 0.98],
  ["0.99", 0.99],
  ["0.999", 0.999],
];
const FETCH_KEY = 1;

/**
 * Series under the names the Prometheus JMX exporter's Kafka rules give Kafka's MBeans (lowercased
 * `kafka_<domain>_<type>_<name>`, `*PerSec` counts as `_total`), so that stock Kafka dashboards find them;
 * plus process CPU, RSS and GC time from the runtime, and a Prometheus histogram of request latency.
 */
function kafkaMetrics(svc: Services, o: Out): void {
  const m = svc.metrics;
  const h = m.latency;
  h.rotate(svc.now());
  // RequestMetrics: Kafka labels a Fetch "FetchConsumer" (or "FetchFollower") as well as "Fetch".
  const requests: [number, string][] = [];
  for (const [key, name] of m.apiNames) {
    if (m.requests[key] === 0) continue;
    requests.push([key, name]);
    if (key === FETCH_KEY) requests.push([key, "FetchConsumer"]);
  }
  o.family(
    "kafka_network_requestmetrics_requests_total",
    "counter",
    "Requests, by request type and version (Kafka's RequestMetrics RequestsPerSec).",
  );
  for (const [key, name] of requests) {
    for (let v = 0; v < 32; v++) {
      const n = m.versionCount(key, v);
      if (n > 0) o.sample("kafka_network_requestmetrics_requests_total", { request: name, version: v }, n);
    }
  }
  o.family(
    "kafka_network_requestmetrics_totaltimems",
    "gauge",
    "Request latency in ms from dispatch to the response queued, quantiles of the last one to two minutes estimated from chronik_request_duration_seconds' buckets (Kafka's RequestMetrics TotalTimeMs percentiles).",
  );
  for (const [key, name] of requests) {
    for (const [label, q] of QUANTILES) {
      o.sample("kafka_network_requestmetrics_totaltimems", { request: name, quantile: label }, h.quantile(key, q));
    }
  }
  o.family(
    "kafka_network_requestmetrics_totaltimems_count",
    "counter",
    "Requests timed (Kafka's RequestMetrics TotalTimeMs Count).",
  );
  for (const [key, name] of requests) {
    o.sample("kafka_network_requestmetrics_totaltimems_count", { request: name }, h.count(key));
  }
  o.family(
    "chronik_request_duration_seconds",
    "histogram",
    "Request latency from dispatch to the response queued, by API.",
  );
  for (const [key, name] of m.apiNames) {
    if (m.requests[key] === 0) continue;
    const cumulative = h.cumulative(key);
    LATENCY_BUCKETS_MS.forEach((le, i) =>
      o.sample("chronik_request_duration_seconds_bucket", { api: name, le: le / 1000 }, cumulative[i])
    );
    const count = cumulative[cumulative.length - 1];
    o.sample("chronik_request_duration_seconds_bucket", { api: name, le: "+Inf" }, count);
    o.sample("chronik_request_duration_seconds_sum", { api: name }, h.sums[key] / 1000);
    o.sample("chronik_request_duration_seconds_count", { api: name }, count);
  }

  // BrokerTopicMetrics: the series without a topic label is the broker's total over all topics.
  const topics = [...svc.topics.list()];
  const perTopic = (name: string, help: string, all: number, of: (t: (typeof topics)[number]) => number) => {
    o.family(name, "counter", help);
    o.sample(name, {}, all);
    for (const t of topics) o.sample(name, { topic: t.name }, of(t));
  };
  perTopic(
    "kafka_server_brokertopicmetrics_bytesin_total",
    "Record bytes appended by Produce, per topic and in all (Kafka's BytesInPerSec).",
    m.topicBytesIn,
    (t) => t.stats.bytesIn,
  );
  perTopic(
    "kafka_server_brokertopicmetrics_bytesout_total",
    "Record bytes returned by Fetch, per topic and in all (Kafka's BytesOutPerSec).",
    m.topicBytesOut,
    (t) => t.stats.bytesOut,
  );
  perTopic(
    "kafka_server_brokertopicmetrics_messagesin_total",
    "Records appended by Produce, per topic and in all (Kafka's MessagesInPerSec).",
    m.messagesIn,
    (t) => t.stats.messagesIn,
  );

  // Partition health. Storage is the replication here (one node, or shared PostgreSQL / object storage),
  // so no partition is ever under-replicated or under min ISR; one without a live leader is offline,
  // counted (as Kafka does) by the controller only.
  let partitions = 0;
  let leaders = 0;
  let offline = 0;
  const cluster = svc.cluster;
  for (const t of topics) {
    for (let p = 0; p < t.partitions.length; p++) {
      partitions++;
      if (cluster.leads(t.name, p)) leaders++;
      else if (cluster.leader(t.name, p).leader < 0) offline++;
    }
  }
  const controller = cluster.controllerId() === cluster.nodeId;
  const gauge = (name: string, help: string, value: number) => {
    o.family(name, "gauge", help);
    o.sample(name, {}, value);
  };
  gauge(
    "kafka_server_replicamanager_underreplicatedpartitions",
    "Partitions with fewer in-sync replicas than replicas: always 0 (storage replicates).",
    0,
  );
  gauge(
    "kafka_cluster_partition_underminisr_total",
    "Partitions under min.insync.replicas: always 0 (storage replicates).",
    0,
  );
  gauge(
    "kafka_server_replicamanager_partitioncount",
    "Partitions on this broker (all of them: storage is shared).",
    partitions,
  );
  gauge("kafka_server_replicamanager_leadercount", "Partitions this broker leads.", leaders);
  gauge(
    "kafka_controller_kafkacontroller_activecontrollercount",
    "1 on the broker shown as the controller.",
    controller ? 1 : 0,
  );
  gauge(
    "kafka_controller_kafkacontroller_offlinepartitionscount",
    "Partitions without a live leader (reported by the controller).",
    controller ? offline : 0,
  );
  gauge("kafka_server_kafkaserver_brokerstate", "Broker state: 3 (RUNNING) while it serves.", 3);

  const p = svc.runtime.processStats?.();
  if (p) {
    o.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
    o.sample("process_cpu_seconds_total", {}, p.cpuSeconds);
    o.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    o.sample("process_resident_memory_bytes", {}, p.residentBytes);
    if (p.gcSeconds !== undefined) {
      o.family("chronik_gc_seconds_total", "counter", `Time spent in garbage collection (${svc.runtime.name}).`);
      o.sample("chronik_gc_seconds_total", {}, p.gcSeconds);
      // The JMX exporter's JVM collector names GC time so; dashboards' GC panels read it.
      o.family(
        "jvm_gc_collection_seconds",
        "summary",
        "Time spent in garbage collection, as the JVM collector names it.",
      );
      o.sample("jvm_gc_collection_seconds_count", { gc: svc.runtime.name }, p.gcCount ?? 0);
      o.sample("jvm_gc_collection_seconds_sum", { gc: svc.runtime.name }, p.gcSeconds);
    }
  }
}
