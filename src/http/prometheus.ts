// /metrics in the Prometheus text exposition format (version 0.0.4).
import type { Services } from "../broker/services.ts";

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

class Out {
  private lines: string[] = [];
  family(name: string, type: "counter" | "gauge", help: string) {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Record<string, string | number>, value: number) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(String(v))}"`).join(",");
    this.lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`);
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
    for (const [k, off] of g.offsets) {
      const i = k.lastIndexOf("\u0000");
      const topic = k.slice(0, i);
      const partition = Number(k.slice(i + 1));
      const log = svc.topics.get(topic)?.partitions[partition];
      if (log) lag.push([{ group: g.groupId, topic, partition }, Math.max(0, log.logEndOffset - Number(off.offset))]);
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
  return o.text();
}
