// Confluent REST Proxy v2 consumer instances (/consumers/{group}/instances/{name}/...).
//
// Each subscribed instance is a real member of its consumer group: the broker drives it through the
// group coordinator's KIP-848 consumer protocol in process (heartbeats on the group's interval, the
// server-side assignor, revocations honoured at once), so REST consumers and Kafka clients share a
// group's partitions and committed offsets as members of one group; topic_pattern subscriptions are
// the coordinator's regexes. An instance given partitions with POST assignments is a simple consumer
// instead (no membership). Positions start from the committed offset, else per auto.offset.reset.
// Records are read as Fetch reads them (isolation.level: read_uncommitted by default, as Kafka's
// consumer, or read_committed) and returned in the instance's format (binary: base64; json; avro,
// jsonschema and protobuf: decoded with the schema registry, protobuf as its JSON mapping). Commits
// go through OffsetCommit's path with the member's epoch. An instance not used for
// consumer.instance.timeout.ms (300000) leaves the group and is removed.
// An instance belongs to the principal that created it: to another it does not exist (40403, as for
// an unknown instance). Its ACLs are checked on every use, as a Kafka consumer's requests are: READ
// on the group for each fetch, commit and subscription, READ on each topic read, committed or
// positioned, DESCRIBE for committed offsets (40301 otherwise), so a revoked ACL takes effect at
// the next call; heartbeats stop while the principal may not READ the group.
import type { Context, Hono } from "hono";
import { AclOperation, ResourceType } from "../broker/auth/acl.ts";
import { clientHostOf } from "../broker/groups/coordinator.ts";
import { compileRegex } from "../broker/groups/consumer.ts";
import { decodeAvro } from "../broker/registry/avro.ts";
import { wireSchemaId } from "../broker/registry/registry.ts";
import type { Services } from "../broker/services.ts";
import { randomUuid } from "../broker/topics.ts";
import { errorName } from "../client/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { bytesToBase64 } from "./base64.ts";
import { V2Error, v2Reply } from "./confluent_v2.ts";
import { readLog } from "./rest.ts";
import { decodeProtoFramed, SerializeError } from "./serialize.ts";
import { httpAllowed, type HttpEnv } from "./security.ts";

const FORMATS = ["binary", "json", "avro", "jsonschema", "protobuf"];

type Instance = {
  group: string;
  name: string;
  memberId: string;
  memberEpoch: number;
  format: string;
  reset: "earliest" | "latest";
  autoCommit: boolean;
  /** isolation.level=read_committed: stop at the last stable offset, skip aborted transactions. */
  readCommitted: boolean;
  subscription: string[];
  /** topic_pattern (a regex over the whole name, as Kafka's subscribe(Pattern)); null with topics. */
  pattern: string | null;
  /** Topics the pattern may match: those the subscriber may describe and read. */
  mayUse: (topic: string) => boolean;
  /** Partitions given with POST .../assignments (Kafka's assign()): no group membership. */
  manual: boolean;
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
  const subscribed = (i: Instance) => i.subscription.length > 0 || i.pattern !== null;

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
      subscribedTopicRegex: i.pattern ?? "",
      serverAssignor: null,
      topicPartitions: [...i.assigned].flatMap(([name, partitions]) => {
        const t = svc.topics.get(name);
        return t ? [{ topicId: t.id, partitions }] : [];
      }),
      clientId: `rest-proxy-${i.name}`,
      clientHost: i.clientHost,
      mayDescribe: i.mayUse,
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
      // Manually assigned partitions commit as a simple consumer (no member, generation -1).
      generationIdOrMemberEpoch: i.manual ? -1 : i.memberEpoch,
      memberId: i.manual ? "" : i.memberId,
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
    if (subscribed(i)) await heartbeat(i, true).catch(() => {});
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
      const isolation = String(b["isolation.level"] ?? "read_uncommitted");
      if (isolation !== "read_uncommitted" && isolation !== "read_committed") {
        throw new V2Error(422, 42204, `Invalid isolation.level ${isolation}`);
      }
      if (!FORMATS.includes(format)) throw new V2Error(422, 42204, `Invalid consumer format ${format}`);
      const i: Instance = {
        group,
        name,
        memberId: randomUuid(),
        memberEpoch: 0,
        format,
        reset: b["auto.offset.reset"] === "earliest" || b["auto.offset.reset"] === "smallest" ? "earliest" : "latest",
        autoCommit: String(b["auto.commit.enable"] ?? "false") === "true",
        readCommitted: isolation === "read_committed",
        subscription: [],
        pattern: null,
        mayUse: () => false,
        manual: false,
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
      if (i.manual) {
        throw new V2Error(409, 40903, "Subscription to topics, partitions and pattern are mutually exclusive.");
      }
      const hasTopics = Array.isArray(b.topics) && b.topics.length > 0;
      const pattern = typeof b.topic_pattern === "string" && b.topic_pattern ? b.topic_pattern : null;
      if (hasTopics === (pattern !== null)) {
        throw new V2Error(422, 42201, "A subscription needs either topics or topic_pattern.");
      }
      if (pattern !== null) {
        if (compileRegex(pattern) === null) throw new V2Error(422, 42201, `Invalid topic_pattern ${pattern}`);
        authorize(c, i, AclOperation.READ, []);
        i.pattern = pattern;
        i.subscription = [];
        i.mayUse = (t) =>
          httpAllowed(svc, c, AclOperation.DESCRIBE, ResourceType.TOPIC, t) &&
          httpAllowed(svc, c, AclOperation.READ, ResourceType.TOPIC, t);
      } else {
        authorize(c, i, AclOperation.READ, b.topics as string[]);
        i.pattern = null;
        i.subscription = [...new Set(b.topics as string[])].sort();
      }
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
    route((c) => {
      const i = instanceOf(c);
      // A pattern's subscription is the topics it matches now, as KafkaConsumer.subscription().
      const re = i.pattern === null ? null : compileRegex(i.pattern);
      const topics = re === null ? i.subscription : [...svc.topics.list()]
        .filter((t) => !t.internal && re.test(t.name) && i.mayUse(t.name)).map((t) => t.name).sort();
      return reply(c, { topics });
    }),
  );
  app.delete(
    "/consumers/:group/instances/:instance/subscription",
    route(async (c) => {
      const i = instanceOf(c);
      if (subscribed(i)) await heartbeat(i, true);
      i.subscription = [];
      i.pattern = null;
      i.manual = false;
      i.assigned = new Map();
      i.positions = new Map();
      i.memberEpoch = 0;
      if (i.timer) clearInterval(i.timer);
      i.timer = null;
      return reply(c, null, 204);
    }),
  );
  app.post(
    "/consumers/:group/instances/:instance/assignments",
    route(async (c) => {
      const i = instanceOf(c);
      const b = await body(c);
      if (subscribed(i)) {
        throw new V2Error(409, 40903, "Subscription to topics, partitions and pattern are mutually exclusive.");
      }
      if (!Array.isArray(b.partitions)) throw new V2Error(422, 42201, "partitions must be an array.");
      const next = new Map<string, number[]>();
      for (const p of b.partitions as { topic?: unknown; partition?: unknown }[]) {
        if (typeof p?.topic !== "string" || !Number.isInteger(p.partition) || (p.partition as number) < 0) {
          throw new V2Error(422, 42201, "Each partition needs a topic and a partition number.");
        }
        if (!httpAllowed(svc, c, AclOperation.READ, ResourceType.TOPIC, p.topic)) {
          throw new V2Error(403, 40301, `Not authorized to access topics: [${p.topic}]`);
        }
        const list = next.get(p.topic) ?? [];
        if (!list.includes(p.partition as number)) list.push(p.partition as number);
        next.set(p.topic, list.sort((x, y) => x - y));
      }
      // Positions of partitions no longer assigned are forgotten, as KafkaConsumer.assign() does.
      for (const k of [...i.positions.keys()]) {
        const [t, p] = k.split("\u0000");
        if (!next.get(t)?.includes(Number(p))) i.positions.delete(k);
      }
      i.assigned = next;
      i.manual = next.size > 0;
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
      if (!subscribed(i) && !i.manual) {
        throw new V2Error(409, 40903, "Consumer is not subscribed to any topics or assigned any partitions.");
      }
      if (i.manual) {
        // A simple consumer's fetch needs READ on the topics only, as Kafka's Fetch.
        for (const t of i.assigned.keys()) {
          if (!httpAllowed(svc, c, AclOperation.READ, ResourceType.TOPIC, t)) {
            throw new V2Error(403, 40301, `Not authorized to access topics: [${t}]`);
          }
        }
      } else {
        authorize(c, i, AclOperation.READ, i.subscription);
        await heartbeat(i);
      }
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
            const read = await readLog(log, pos, maxBytes - bytes, i.readCommitted);
            bytes += read.bytes;
            for (const r of read.records) {
              out.push({
                topic,
                key: render(i.format, r.key),
                value: render(i.format, r.value),
                partition: p,
                offset: Number(r.offset),
              });
            }
            pos = Math.max(pos, read.nextOffset);
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

  function render(format: string, b: Uint8Array | null): unknown {
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
    if (format === "protobuf" && parsed.proto) {
      try {
        return decodeProtoFramed(parsed.proto, b.subarray(5), parsed.protoImports);
      } catch (e) {
        if (e instanceof SerializeError) {
          throw new V2Error(500, 50002, `A record is not protobuf of schema ${id}: ${e.message}`);
        }
        throw e;
      }
    }
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
      // Confluent sends the partitions in a GET body, which Bun's and Deno's servers drop (the Node adapter keeps it):
      // without them, the answer is for the instance's assignment (KafkaConsumer.committed(assignment())).
      const parts = Array.isArray(b.partitions)
        ? b.partitions as { topic: string; partition: number }[]
        : [...i.assigned].flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
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
