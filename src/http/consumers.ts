// Confluent REST Proxy v2 consumer instances (/consumers/{group}/instances/{name}/...).
//
// Each instance is a real member of its consumer group: the broker drives it through the group
// coordinator's KIP-848 consumer protocol in process (heartbeats on the group's interval, the
// server-side assignor, revocations honoured at once), so REST consumers and Kafka clients share a
// group's partitions and committed offsets as members of one group. Positions start from the
// committed offset, else per auto.offset.reset. Records are read as Fetch reads them and returned
// in the instance's format (binary: base64; json; avro and jsonschema: decoded with the schema
// registry). Commits go through OffsetCommit's path with the member's epoch. An instance not used
// for consumer.instance.timeout.ms (300000) leaves the group and is removed.
// An instance belongs to the principal that created it: to another it does not exist (40403, as for
// an unknown instance). Its ACLs are checked on every use, as a Kafka consumer's requests are: READ
// on the group for each fetch, commit and subscription, READ on each topic read, committed or
// positioned, DESCRIBE for committed offsets (40301 otherwise), so a revoked ACL takes effect at
// the next call; heartbeats stop while the principal may not READ the group.
import type { Context, Hono } from "hono";
import { AclOperation, ResourceType } from "../broker/auth/acl.ts";
import { clientHostOf } from "../broker/groups/coordinator.ts";
import { decodeAvro } from "../broker/registry/avro.ts";
import { wireSchemaId } from "../broker/registry/registry.ts";
import type { Services } from "../broker/services.ts";
import { randomUuid } from "../broker/topics.ts";
import { errorName } from "../client/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  batchBaseOffsetNumber,
  batchIsControl,
  batchLastOffsetDelta,
  decodeRecords,
} from "../protocol/record_batch.ts";
import { bytesToBase64 } from "./base64.ts";
import { V2Error, v2Reply } from "./confluent_v2.ts";
import { httpAllowed, type HttpEnv } from "./security.ts";

const FORMATS = ["binary", "json", "avro", "jsonschema"];

type Instance = {
  group: string;
  name: string;
  memberId: string;
  memberEpoch: number;
  format: string;
  reset: "earliest" | "latest";
  autoCommit: boolean;
  subscription: string[];
  /** Topic -> partitions the group assigned this member. */
  assigned: Map<string, number[]>;
  /** "topic\0partition" -> next offset to return. */
  positions: Map<string, number>;
  lastUsed: number;
  timer: ReturnType<typeof setInterval> | null;
  clientHost: string;
  /** The principal that created the instance, and its address (for the heartbeats' ACL checks). */
  principal: string;
  remote: string;
};

export function consumerRoutes(app: Hono<HttpEnv>, svc: Services): void {
  const instances = new Map<string, Instance>();
  const key = (group: string, name: string) => `${group}\u0000${name}`;
  const timeoutMs = () => Number(svc.config["consumer.instance.timeout.ms"] ?? 300000);
  const reply = v2Reply;
  const route = (fn: (c: Context) => Promise<Response> | Response) => async (c: Context) => {
    try {
      return await fn(c);
    } catch (e) {
      if (e instanceof V2Error) return e.reply(c);
      throw e;
    }
  };
  const instanceOf = (c: Context) => {
    const i = instances.get(key(c.req.param("group") ?? "", c.req.param("instance") ?? ""));
    if (!i || i.principal !== principalOf(c)) throw new V2Error(404, 40403, "Consumer instance not found.");
    i.lastUsed = svc.now();
    return i;
  };
  const principalOf = (c: Context) => (c.get("principal") as string | undefined) ?? "User:ANONYMOUS";
  /** 40301 unless this request's principal may `op` the instance's group and each of `topics`. */
  const authorize = (c: Context, i: Instance, op: number, topics: Iterable<string>) => {
    if (!httpAllowed(svc, c, op, ResourceType.GROUP, i.group)) {
      throw new V2Error(403, 40301, `Not authorized to access group: ${i.group}`);
    }
    for (const t of topics) {
      if (!httpAllowed(svc, c, op, ResourceType.TOPIC, t)) {
        throw new V2Error(403, 40301, `Not authorized to access topics: [${t}]`);
      }
    }
  };
  const body = async (c: Context) => {
    const text = await c.req.text();
    if (!text.trim()) return {} as Record<string, unknown>;
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new V2Error(400, 400, "The request body is not JSON.");
    }
  };
  const pk = (t: string, p: number) => `${t}\u0000${p}`;

  async function heartbeat(i: Instance, leaving = false): Promise<void> {
    // As ConsumerGroupHeartbeat: READ on the group, for the instance's principal and address.
    if (
      !leaving && svc.acls.enabled &&
      !svc.acls.authorize(i.principal, i.remote, AclOperation.READ, ResourceType.GROUP, i.group)
    ) {
      return;
    }
    const r = await svc.groups.consumerGroupHeartbeat(i.group, {
      memberId: i.memberId,
      memberEpoch: leaving ? -1 : i.memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 30000,
      subscribedTopicNames: i.subscription,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: [...i.assigned].flatMap(([name, partitions]) => {
        const t = svc.topics.get(name);
        return t ? [{ topicId: t.id, partitions }] : [];
      }),
      clientId: `rest-proxy-${i.name}`,
      clientHost: i.clientHost,
    }, 1);
    if (leaving) return;
    if (r.errorCode === ErrorCode.FENCED_MEMBER_EPOCH || r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
      i.memberEpoch = 0;
      i.assigned = new Map();
      return;
    }
    if (r.errorCode !== ErrorCode.NONE) {
      svc.log(
        "warn",
        `REST consumer ${i.group}/${i.name}: heartbeat ${errorName(r.errorCode)} ${r.errorMessage ?? ""}`,
      );
      return;
    }
    i.memberEpoch = r.memberEpoch;
    if (r.assignment) {
      const next = new Map<string, number[]>();
      for (const tp of r.assignment.topicPartitions) {
        const t = svc.topics.byId(tp.topicId);
        if (t) next.set(t.name, [...tp.partitions].sort((a, b) => a - b));
      }
      // Revoked partitions: commit what was read first (auto-commit), then drop their positions.
      for (const [t, ps] of i.assigned) {
        for (const p of ps) {
          if (!next.get(t)?.includes(p)) {
            if (i.autoCommit) await commit(i, [[t, p]]);
            i.positions.delete(pk(t, p));
          }
        }
      }
      i.assigned = next;
    }
  }

  async function commit(i: Instance, which: [string, number][] | null, explicit?: Map<string, number>) {
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint }[]>();
    const add = (t: string, p: number, o: number) => {
      if (!byTopic.has(t)) byTopic.set(t, []);
      byTopic.get(t)!.push({ partitionIndex: p, committedOffset: BigInt(o) });
    };
    if (explicit) { for (const [k, o] of explicit) add(k.split("\u0000")[0], Number(k.split("\u0000")[1]), o); }
    else {
      for (const [k, o] of i.positions) {
        const [t, p] = k.split("\u0000");
        if (which && !which.some(([wt, wp]) => wt === t && wp === Number(p))) continue;
        add(t, Number(p), o);
      }
    }
    if (!byTopic.size) return;
    const out = await svc.groups.commitOffsets({
      groupId: i.group,
      generationIdOrMemberEpoch: i.memberEpoch,
      memberId: i.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, ps]) => ({
        name,
        partitions: ps.map((p) => ({ ...p, committedLeaderEpoch: -1, committedMetadata: "" })),
      })),
    });
    const bad = out.flatMap((t) => t.partitions).find((p) => p.errorCode !== ErrorCode.NONE);
    if (bad) throw new V2Error(409, 40902, `Commit failed: ${errorName(bad.errorCode)}`);
  }

  async function remove(i: Instance) {
    if (i.timer) clearInterval(i.timer);
    instances.delete(key(i.group, i.name));
    if (i.subscription.length) await heartbeat(i, true).catch(() => {});
  }

  const sweeper = setInterval(() => {
    const now = svc.now();
    for (const i of [...instances.values()]) if (now - i.lastUsed > timeoutMs()) void remove(i);
  }, 10000);
  svc.onClosing(() => {
    clearInterval(sweeper);
    for (const i of instances.values()) if (i.timer) clearInterval(i.timer);
  });

  app.post(
    "/consumers/:group",
    route(async (c) => {
      const group = c.req.param("group") ?? "";
      if (!httpAllowed(svc, c, AclOperation.READ, ResourceType.GROUP, group)) {
        throw new V2Error(403, 40301, "Not authorized to access group.");
      }
      const b = await body(c);
      const name = typeof b.name === "string" && b.name ? b.name : `rest-consumer-${randomUuid()}`;
      if (instances.has(key(group, name))) {
        throw new V2Error(
          409,
          40902,
          `Consumer with specified consumer ID already exists in the specified consumer group.`,
        );
      }
      const format = String(b.format ?? "binary");
      if (!FORMATS.includes(format)) throw new V2Error(422, 42204, `Invalid consumer format ${format}`);
      const i: Instance = {
        group,
        name,
        memberId: randomUuid(),
        memberEpoch: 0,
        format,
        reset: b["auto.offset.reset"] === "earliest" || b["auto.offset.reset"] === "smallest" ? "earliest" : "latest",
        autoCommit: String(b["auto.commit.enable"] ?? "false") === "true",
        subscription: [],
        assigned: new Map(),
        positions: new Map(),
        lastUsed: svc.now(),
        timer: null,
        clientHost: clientHostOf((c.env as { remoteAddress?: string } | undefined)?.remoteAddress ?? ""),
        principal: principalOf(c),
        remote: (c.env as { remoteAddress?: string } | undefined)?.remoteAddress || "*",
      };
      instances.set(key(group, name), i);
      const base = new URL(c.req.url).origin;
      return reply(c, {
        instance_id: name,
        base_uri: `${base}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(name)}`,
      });
    }),
  );

  app.delete(
    "/consumers/:group/instances/:instance",
    route(async (c) => {
      await remove(instanceOf(c));
      return reply(c, null, 204);
    }),
  );

  app.post(
    "/consumers/:group/instances/:instance/subscription",
    route(async (c) => {
      const i = instanceOf(c);
      const b = await body(c);
      if (!Array.isArray(b.topics) || !b.topics.length) {
        throw new V2Error(422, 42201, "A subscription needs topics (topic_pattern is not supported).");
      }
      authorize(c, i, AclOperation.READ, b.topics as string[]);
      i.subscription = [...new Set(b.topics as string[])].sort();
      await heartbeat(i);
      if (!i.timer) {
        i.timer = setInterval(
          () => void heartbeat(i).catch(() => {}),
          Number(svc.config["group.consumer.heartbeat.interval.ms"] ?? 5000),
        );
      }
      return reply(c, null, 204);
    }),
  );
  app.get(
    "/consumers/:group/instances/:instance/subscription",
    route((c) => reply(c, { topics: instanceOf(c).subscription })),
  );
  app.delete(
    "/consumers/:group/instances/:instance/subscription",
    route(async (c) => {
      const i = instanceOf(c);
      if (i.subscription.length) await heartbeat(i, true);
      i.subscription = [];
      i.assigned = new Map();
      i.positions = new Map();
      i.memberEpoch = 0;
      if (i.timer) clearInterval(i.timer);
      i.timer = null;
      return reply(c, null, 204);
    }),
  );
  app.get(
    "/consumers/:group/instances/:instance/assignments",
    route((c) =>
      reply(c, {
        partitions: [...instanceOf(c).assigned].flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))),
      })
    ),
  );

  app.get(
    "/consumers/:group/instances/:instance/records",
    route(async (c) => {
      const i = instanceOf(c);
      if (!i.subscription.length) throw new V2Error(409, 40903, "Consumer is not subscribed to any topics.");
      authorize(c, i, AclOperation.READ, i.subscription);
      await heartbeat(i);
      const maxBytes = Math.min(Number(c.req.query("max_bytes") ?? 1 << 20) || 1 << 20, 64 << 20);
      const timeout = Math.min(Number(c.req.query("timeout") ?? 0) || 0, 30000);
      const deadline = svc.now() + timeout;
      const out: Record<string, unknown>[] = [];
      for (;;) {
        let bytes = 0;
        for (const [topic, partitions] of i.assigned) {
          const t = svc.topics.get(topic);
          if (!t) continue;
          for (const p of partitions) {
            const log = t.partitions[p];
            if (!log) continue;
            let pos = i.positions.get(pk(topic, p));
            if (pos === undefined) {
              const committed = svc.groups.fetchOffsets(i.group, [{ name: topic, partitionIndexes: [p] }], null)
                .topics[0]?.partitions[0]?.committedOffset ?? -1n;
              pos = committed >= 0n
                ? Number(committed)
                : i.reset === "earliest"
                ? log.logStartOffset
                : log.logEndOffset;
            }
            if (pos < log.logStartOffset || pos > log.logEndOffset) {
              pos = i.reset === "earliest" ? log.logStartOffset : log.logEndOffset;
            }
            if (bytes >= maxBytes || pos >= log.logEndOffset) {
              i.positions.set(pk(topic, p), pos);
              continue;
            }
            for (const batch of await log.read(pos, maxBytes - bytes)) {
              bytes += batch.length;
              const next = batchBaseOffsetNumber(batch) + batchLastOffsetDelta(batch) + 1;
              if (batchIsControl(batch)) {
                pos = Math.max(pos, next);
                continue;
              }
              for (const r of decodeRecords(batch).records) {
                const off = Number(r.offset);
                if (off < pos) continue;
                out.push({
                  topic,
                  key: await render(i.format, r.key),
                  value: await render(i.format, r.value),
                  partition: p,
                  offset: off,
                });
              }
              pos = Math.max(pos, next);
            }
            i.positions.set(pk(topic, p), pos);
          }
        }
        if (out.length || svc.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (i.autoCommit && out.length) await commit(i, null);
      return reply(c, out);
    }),
  );

  async function render(format: string, b: Uint8Array | null): Promise<unknown> {
    if (b === null) return null;
    if (format === "binary") return bytesToBase64(b);
    if (format === "json") {
      try {
        return JSON.parse(new TextDecoder().decode(b));
      } catch {
        throw new V2Error(500, 50002, "A record is not JSON: read it with the binary format.");
      }
    }
    const id = wireSchemaId(b);
    if (id === null) throw new V2Error(500, 50002, `A record has no schema id (format ${format}).`);
    const parsed = svc.registry.parsedById(id);
    if (format === "avro" && parsed.avro) return decodeAvro(parsed.avro, b.subarray(5));
    return JSON.parse(new TextDecoder().decode(b.subarray(5)));
  }

  app.post(
    "/consumers/:group/instances/:instance/offsets",
    route(async (c) => {
      const i = instanceOf(c);
      const b = await body(c);
      const given = Array.isArray(b.offsets) ? b.offsets as { topic: string }[] : [];
      const read = [...i.positions.keys()].map((k) => k.slice(0, k.lastIndexOf("\u0000")));
      authorize(c, i, AclOperation.READ, [...given.map((o) => o.topic), ...read]);
      if (Array.isArray(b.offsets) && b.offsets.length) {
        const explicit = new Map<string, number>();
        for (const o of b.offsets as { topic: string; partition: number; offset: number }[]) {
          // Confluent's REST Proxy commits the given offset as the next one to read.
          explicit.set(pk(o.topic, o.partition), o.offset + 1);
        }
        await commit(i, null, explicit);
      } else await commit(i, null);
      return reply(c, null, 204);
    }),
  );
  app.get(
    "/consumers/:group/instances/:instance/offsets",
    route(async (c) => {
      const i = instanceOf(c);
      const b = await body(c);
      const parts = Array.isArray(b.partitions) ? b.partitions as { topic: string; partition: number }[] : [];
      authorize(c, i, AclOperation.DESCRIBE, parts.map((p) => p.topic));
      const offsets = parts.map((p) => {
        const f = svc.groups.fetchOffsets(i.group, [{ name: p.topic, partitionIndexes: [p.partition] }], null)
          .topics[0]?.partitions[0];
        return {
          topic: p.topic,
          partition: p.partition,
          offset: Number(f?.committedOffset ?? -1n),
          metadata: f?.metadata ?? "",
        };
      });
      return reply(c, { offsets });
    }),
  );
  const seek = (where: "beginning" | "end" | "given") =>
    route(async (c) => {
      const i = instanceOf(c);
      const b = await body(c);
      const list = (where === "given" ? b.offsets : b.partitions) as
        | { topic: string; partition: number; offset?: number }[]
        | undefined;
      authorize(c, i, AclOperation.READ, (list ?? []).map((p) => p.topic));
      for (const p of list ?? []) {
        const log = svc.topics.get(p.topic)?.partitions[p.partition];
        if (!log) throw new V2Error(404, 40402, "Partition not found.");
        i.positions.set(
          pk(p.topic, p.partition),
          where === "beginning" ? log.logStartOffset : where === "end" ? log.logEndOffset : Number(p.offset),
        );
      }
      return reply(c, null, 204);
    });
  app.post("/consumers/:group/instances/:instance/positions", seek("given"));
  app.post("/consumers/:group/instances/:instance/positions/beginning", seek("beginning"));
  app.post("/consumers/:group/instances/:instance/positions/end", seek("end"));
}
