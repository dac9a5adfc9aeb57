// chronik cluster info|config get|config set, txn list|describe|abort, producer describe
import { ResourceType } from "../../broker/config/configs.ts";
import { check, KafkaError } from "../../client/errors.ts";
import { DescribeConfigs } from "../../protocol/messages/32_describe_configs.ts";
import { DescribeCluster } from "../../protocol/messages/60_describe_cluster.ts";
import { DescribeProducers } from "../../protocol/messages/61_describe_producers.ts";
import { DescribeTransactions } from "../../protocol/messages/65_describe_transactions.ts";
import { ListTransactions } from "../../protocol/messages/66_list_transactions.ts";
import { WriteTxnMarkers } from "../../protocol/messages/27_write_txn_markers.ts";
import { UsageError } from "../start_config.ts";
import type { Command } from "./command.ts";
import type { Ctx } from "./context.ts";
import { keyValue } from "./context.ts";
import { durationMs } from "./group.ts";
import { alterConfigs, describeConfigs } from "./topic.ts";

async function producersOf(ctx: Ctx, topic: string, partitions: number[] | null) {
  const meta = await ctx.client.topic(topic);
  const ps = partitions ?? meta.partitions.map((p) => p.partition);
  const rows: Record<string, unknown>[] = [];
  const byLeader = new Map<number, number[]>();
  for (const p of ps) {
    const l = meta.partitions.find((x) => x.partition === p)?.leader ?? -1;
    (byLeader.get(l) ?? byLeader.set(l, []).get(l)!).push(p);
  }
  for (const [leader, list] of byLeader) {
    const c = await ctx.client.broker(leader);
    const r = await c.request(DescribeProducers, { topics: [{ name: topic, partitionIndexes: list }] });
    for (const pr of r.topics?.[0]?.partitions ?? []) {
      check(pr.errorCode ?? 0, pr.errorMessage, `describing producers of ${topic}-${pr.partitionIndex}`);
      for (const s of pr.activeProducers ?? []) {
        rows.push({
          topic,
          partition: pr.partitionIndex,
          producerId: s.producerId,
          producerEpoch: s.producerEpoch,
          lastSequence: s.lastSequence,
          lastTimestamp: s.lastTimestamp,
          coordinatorEpoch: s.coordinatorEpoch,
          currentTxnStartOffset: s.currentTxnStartOffset,
        });
      }
    }
  }
  return rows;
}

export const CLUSTER_COMMANDS: Record<string, Command> = {
  "cluster info": {
    summary: "cluster id, controller, brokers, features, dynamic broker configs, APIs",
    usage: "",
    async run(ctx) {
      const c = await ctx.client.any();
      let info: {
        clusterId: string | null;
        controllerId: number;
        brokers: { id: number; host: string; port: number; rack: string | null }[];
      };
      if (c.versions.has(DescribeCluster.key)) {
        const r = await c.request(DescribeCluster, { includeClusterAuthorizedOperations: false, endpointType: 1 });
        check(r.errorCode ?? 0, r.errorMessage, "describing the cluster");
        info = {
          clusterId: r.clusterId ?? null,
          controllerId: r.controllerId ?? -1,
          brokers: (r.brokers ?? []).map((b) => ({
            id: b.brokerId!,
            host: b.host!,
            port: b.port!,
            rack: b.rack ?? null,
          })),
        };
      } else {
        const m = await ctx.client.metadata([]);
        info = {
          clusterId: m.clusterId ?? null,
          controllerId: m.controllerId ?? -1,
          brokers: (m.brokers ?? []).map((b) => ({
            id: b.nodeId!,
            host: b.host!,
            port: b.port!,
            rack: b.rack ?? null,
          })),
        };
      }
      const apis = [...c.versions].sort((a, b) => a[0] - b[0]).map(([key, [min, max]]) => ({ key, min, max }));
      const features = [...c.features].sort((a, b) => a[0].localeCompare(b[0])).map(([name, f]) => ({
        name,
        supported: f.supported ? `${f.supported[0]}-${f.supported[1]}` : null,
        finalized: f.finalized,
      }));
      // Dynamic broker configs (set with cluster config set), when the broker describes configs.
      let dynamic: { name: string; value: string | null; source: string }[] = [];
      if (c.versions.has(DescribeConfigs.key) && info.brokers.length > 0) {
        dynamic = (await describeConfigs(ctx, ResourceType.BROKER, String(info.brokers[0].id), null))
          .filter((x) => x.source.startsWith("DYNAMIC_"))
          .map(({ name, value, source }) => ({ name, value, source }));
      }
      if (ctx.json) {
        ctx.printJson({ ...info, bootstrap: `${c.host}:${c.port}`, features, dynamicConfigs: dynamic, apis });
        return;
      }
      ctx.print(`Cluster ${info.clusterId ?? "-"}  controller ${info.controllerId}  via ${c.host}:${c.port}\n\n`);
      ctx.table(info.brokers, ["id", "host", "port", "rack"]);
      if (features.length) {
        ctx.print("\nFeatures:\n");
        ctx.table(features, ["name", "supported", "finalized"]);
      }
      ctx.print("\nDynamic broker configs:\n");
      if (dynamic.length) ctx.table(dynamic, ["name", "value", "source"]);
      else ctx.print("(none)\n");
      ctx.print(`\n${apis.length} APIs supported (--format json lists their versions)\n`);
    },
  },
  "cluster config get": {
    summary: "broker configs (set ones, or --all, or NAME...)",
    usage: "[NAME...] [--all] [--broker ID | --cluster-default]",
    options: { "--all": "flag", "--broker": "value", "--cluster-default": "flag" },
    async run(ctx) {
      const names = ctx.opts.positional.slice(0);
      const resource = ctx.has("--cluster-default")
        ? ""
        : String(ctx.get("--broker") ?? (await ctx.client.brokerIds())[0]);
      const rows = await describeConfigs(ctx, ResourceType.BROKER, resource, names.length ? names : null);
      const shown = ctx.has("--all") || names.length ? rows : rows.filter((r) => r.source !== "DEFAULT_CONFIG");
      ctx.table(shown, ["name", "value", "source", "readOnly"]);
    },
  },
  "cluster config set": {
    summary: "set or delete dynamic broker configs",
    usage: "[key=value]... [--delete key]... [--broker ID | --cluster-default] [--dry-run]",
    options: { "--delete": "multi", "--broker": "value", "--cluster-default": "flag", "--dry-run": "flag" },
    async run(ctx) {
      const set = ctx.opts.positional.map((kv) => keyValue(kv, "config"));
      const resource = ctx.has("--cluster-default")
        ? ""
        : String(ctx.get("--broker") ?? (await ctx.client.brokerIds())[0]);
      await alterConfigs(ctx, ResourceType.BROKER, resource, set, ctx.all("--delete"), ctx.has("--dry-run"));
      ctx.record({ broker: resource || "cluster default", set: Object.fromEntries(set), deleted: ctx.all("--delete") });
    },
  },
  "txn list": {
    summary: "transactions (--state Ongoing, --older-than 15m for stuck ones)",
    usage: "[--state STATE]... [--older-than DURATION]",
    options: { "--state": "multi", "--older-than": "value" },
    async run(ctx) {
      const olderThan = ctx.get("--older-than");
      const rows: Record<string, unknown>[] = [];
      for (const id of await ctx.client.brokerIds()) {
        const c = await ctx.client.broker(id);
        const r = await c.request(ListTransactions, {
          stateFilters: ctx.all("--state"),
          producerIdFilters: [],
          durationFilter: olderThan === undefined ? -1n : BigInt(durationMs(olderThan)),
        });
        check(r.errorCode ?? 0, null, "listing transactions");
        for (const t of r.transactionStates ?? []) {
          rows.push({
            transactionalId: t.transactionalId,
            producerId: t.producerId,
            state: t.transactionState,
            coordinator: id,
          });
        }
      }
      rows.sort((a, b) => String(a.transactionalId).localeCompare(String(b.transactionalId)));
      ctx.table(rows, ["transactionalId", "producerId", "state", "coordinator"]);
    },
  },
  "txn describe": {
    summary: "a transaction's state, age and partitions",
    usage: "TRANSACTIONAL_ID",
    async run(ctx) {
      const id = ctx.arg(0, "transactional id");
      const c = await ctx.client.coordinator(id, 1);
      const r = await c.request(DescribeTransactions, { transactionalIds: [id] });
      const t = r.transactionStates?.[0];
      check(t?.errorCode ?? 0, null, `describing transaction ${id}`);
      const start = t?.transactionStartTimeMs ?? -1n;
      ctx.record({
        transactionalId: id,
        state: t?.transactionState,
        producerId: t?.producerId,
        producerEpoch: t?.producerEpoch,
        timeoutMs: t?.transactionTimeoutMs,
        startTime: start >= 0n ? new Date(Number(start)).toISOString() : null,
        ageMs: start >= 0n ? Date.now() - Number(start) : null,
        partitions: (t?.topics ?? []).map((x) => `${x.topic}:${(x.partitions ?? []).join(",")}`).join(" ") || "-",
      });
    },
  },
  "txn abort": {
    summary: "abort a hanging transaction on a partition (writes an ABORT marker, as kafka-transactions.sh abort)",
    usage: "--topic T --partition P [--producer-id ID]",
    options: { "--topic": "value", "--partition": "value", "--producer-id": "value" },
    aliases: { "-t": "--topic", "-p": "--partition" },
    async run(ctx) {
      const topic = ctx.get("--topic");
      if (!topic) throw new UsageError("--topic is required");
      const partition = ctx.int("--partition");
      const open = (await producersOf(ctx, topic, [partition])).filter((r) =>
        (r.currentTxnStartOffset as bigint) >= 0n
      );
      const wanted = ctx.get("--producer-id");
      const targets = wanted === undefined ? open : open.filter((r) => String(r.producerId) === wanted);
      if (targets.length === 0) {
        throw new KafkaError(
          "INVALID_TXN_STATE",
          `no open transaction on ${topic}-${partition}${wanted ? ` for producer ${wanted}` : ""}`,
          "see 'chronik producer describe'",
        );
      }
      if (targets.length > 1) throw new UsageError(`${targets.length} open transactions: pick one with --producer-id`);
      const s = targets[0];
      const meta = await ctx.client.topic(topic);
      const c = await ctx.client.broker(meta.partitions.find((p) => p.partition === partition)!.leader);
      const r = await c.request(WriteTxnMarkers, {
        markers: [{
          producerId: s.producerId as bigint,
          producerEpoch: s.producerEpoch as number,
          transactionResult: false,
          topics: [{ name: topic, partitionIndexes: [partition] }],
          coordinatorEpoch: s.coordinatorEpoch as number,
        }],
      });
      for (const m of r.markers ?? []) {
        for (const t of m.topics ?? []) {
          for (const p of t.partitions ?? []) {
            check(p.errorCode ?? 0, null, `aborting the transaction on ${topic}-${p.partitionIndex}`);
          }
        }
      }
      ctx.record({ topic, partition, producerId: s.producerId, aborted: true });
    },
  },
  "producer describe": {
    summary: "active producers of a topic's partitions (ids, epochs, sequences, open transactions)",
    usage: "TOPIC [--partition P]...",
    options: { "--partition": "multi" },
    aliases: { "-p": "--partition" },
    async run(ctx) {
      const topic = ctx.arg(0, "topic name");
      const ps = ctx.all("--partition").map(Number);
      const rows = await producersOf(ctx, topic, ps.length ? ps : null);
      ctx.table(rows, [
        "partition",
        "producerId",
        "producerEpoch",
        "lastSequence",
        "lastTimestamp",
        "currentTxnStartOffset",
      ]);
    },
  },
};
