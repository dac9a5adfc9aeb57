// A schema registry compatible with Confluent's (its REST API is in src/http/registry.ts): subjects
// with versions, global schema ids, AVRO, JSON and PROTOBUF schemas with references, compatibility
// levels (global and per subject), modes (READWRITE, READONLY, IMPORT), soft and hard deletes.
//
// Storage: the compacted topic `_schemas`, in Confluent's own record format (JSON keys such as
// {"keytype":"SCHEMA","subject":…,"version":…,"magic":1} with the schema as the value), written
// before a request is answered and replayed at start, so the registry survives restarts and a
// second registry over the same topic (Confluent's included) reads the same state.
//
// Several brokers over one shared storage (a cluster on PostgreSQL) each run a registry over the
// same `_schemas`: every request first catches up with it (reads from the last applied offset to the
// committed end; one small query when nothing is new), and every change is decided on that state and
// appended only while the log end is still the one read (PartitionLog.appendIf, a compare-and-set);
// when another broker wrote first, the change is decided again after catching up. So ids and
// versions are agreed on by all brokers, and the same schema registered twice gets one id.
//
// The same schema (canonical text, type and references) under several subjects has one id.
// Compatibility: BACKWARD (the new schema reads data of the latest version), FORWARD (the latest
// reads the new), FULL (both), their _TRANSITIVE forms against every live version, NONE. The rules
// per schema type are in avro.ts, json_schema.ts and protobuf.ts.
import {
  batchBaseOffsetNumber,
  batchIsControl,
  batchLastOffsetDelta,
  buildRecordBatch,
  decodeRecords,
  scanBatches,
} from "../../protocol/record_batch.ts";
import type { LogLevel } from "../../runtime.ts";
import { isLogEndMoved, type PartitionLog } from "../../storage/store.ts";
import type { Topics } from "../topics.ts";
import { avroIncompatibilities, AvroSchemaError, type AvroType, canonicalJson, parseAvro } from "./avro.ts";
import { jsonIncompatibilities, JsonSchemaError, parseJsonSchema } from "./json_schema.ts";
import { canonicalProto, parseProto, ProtobufSchemaError, protoIncompatibilities } from "./protobuf.ts";
import type { ProtoSchema } from "./protobuf.ts";

export const SCHEMAS_TOPIC = "_schemas";
export const LEVELS = [
  "NONE",
  "BACKWARD",
  "BACKWARD_TRANSITIVE",
  "FORWARD",
  "FORWARD_TRANSITIVE",
  "FULL",
  "FULL_TRANSITIVE",
] as const;
export const MODES = ["READWRITE", "READONLY", "IMPORT"] as const;
export const SCHEMA_TYPES = ["AVRO", "JSON", "PROTOBUF"] as const;

export type Reference = { name: string; subject: string; version: number };
export type SchemaInput = {
  schema: string;
  schemaType?: string;
  references?: Reference[];
  id?: number;
  version?: number;
};
type Stored = { schema: string; type: string; references: Reference[] };
type Version = Stored & { version: number; id: number; deleted: boolean };

/** An answer with Confluent's error shape: HTTP status, error_code, message. */
export class RegistryError extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

/** Confluent's wire format: magic byte 0, the schema id as a big-endian int32, then the payload. */
export function toWireFormat(id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setInt32(1, id);
  out.set(payload, 5);
  return out;
}

/** The schema id of bytes in Confluent's wire format; null when they are not in it. */
export function wireSchemaId(b: Uint8Array): number | null {
  if (b.length < 5 || b[0] !== 0) return null;
  return new DataView(b.buffer, b.byteOffset + 1, 4).getInt32(0);
}

export type RegistryDeps = {
  topics: Topics;
  now(): number;
  log(level: LogLevel, message: string): void;
  /** In a cluster: takes in topics other brokers created (a `_schemas` created elsewhere). */
  refreshTopics?(): Promise<void>;
  /**
   * In a cluster: also catch up this often in the background, for the users that read the registry
   * without a request of its own (REST Proxy serializers, the console, produce-side validation).
   */
  tailMs?: number;
};

type RecordKV = { key: Record<string, unknown>; value: Record<string, unknown> | null };
/** What a change decided on the caught-up state: the records to write (none: nothing to write) and the answer. */
type Plan<T> = { records: RecordKV[]; result: T };

/** Times a change is decided again when other brokers keep writing first. */
const MAX_ATTEMPTS = 50;

const enc = new TextEncoder();
const dec = new TextDecoder();

export class SchemaRegistry {
  private readonly subjects = new Map<string, Version[]>();
  private readonly byId = new Map<number, Stored>();
  private nextId = 1;
  private globalLevel: string = "BACKWARD";
  private readonly levels = new Map<string, string>();
  private globalMode: string = "READWRITE";
  private readonly modes = new Map<string, string>();
  /** Catch-ups and changes, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  /** A catch-up not started yet (callers join it), and whether it looks for a `_schemas` created elsewhere. */
  private queued: Promise<boolean> | null = null;
  private queuedLooks = false;
  /**
   * Counts the changes applied to this state (from the log, by this broker's own writes, a replay):
   * sync() tells a caller whether it moved since the call, whichever catch-up applied them.
   */
  private generation = 0;
  /** The `_schemas` log applied, and the next offset of it to apply. */
  private appliedLog: PartitionLog | null = null;
  private applied = 0;
  private started = false;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly deps: RegistryDeps) {}

  async start(): Promise<void> {
    await this.sync();
    // From now on (the cluster membership is up), a `_schemas` created elsewhere is looked for.
    this.started = true;
    const ms = this.deps.tailMs;
    if (ms !== undefined && ms > 0) {
      this.timer = setInterval(() => {
        // The cluster's heartbeat takes in a `_schemas` created elsewhere; this only reads it.
        this.sync(false).catch((e) => this.deps.log("warn", `${SCHEMAS_TOPIC}: catching up failed: ${String(e)}`));
      }, ms);
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Catches up with `_schemas`: applies what was appended since the last call (by any broker), so
   * everything committed before the call is known when it settles (read-your-writes across brokers).
   * Concurrent callers share a catch-up that starts after they called. True when the state changed
   * since the call, by this catch-up or by one under way at the call (the background tail, another
   * request's, a change): that one may have read and applied what the caller is looking for after the
   * caller looked but before this one runs, which then finds nothing new.
   */
  sync(lookForTopic = true): Promise<boolean> {
    const before = this.generation;
    return this.queue(lookForTopic).then(() => this.generation !== before);
  }

  private queue(lookForTopic: boolean): Promise<boolean> {
    if (this.queued && (this.queuedLooks || !lookForTopic)) return this.queued;
    const p = this.chain.then(() => {
      if (this.queued === p) this.queued = null;
      return this.catchUp(lookForTopic);
    });
    this.queued = p;
    this.queuedLooks = lookForTopic;
    this.chain = p.catch(() => {});
    return p;
  }

  private reset(): void {
    this.generation++;
    this.subjects.clear();
    this.byId.clear();
    this.nextId = 1;
    this.globalLevel = "BACKWARD";
    this.levels.clear();
    this.globalMode = "READWRITE";
    this.modes.clear();
  }

  private async schemasLog(lookForTopic: boolean): Promise<PartitionLog | undefined> {
    let topic = this.deps.topics.get(SCHEMAS_TOPIC);
    if (!topic && lookForTopic && this.started && this.deps.refreshTopics) {
      await this.deps.refreshTopics();
      topic = this.deps.topics.get(SCHEMAS_TOPIC);
    }
    return topic?.partitions[0];
  }

  /** `lookForTopic`: when `_schemas` is unknown here, ask the cluster for topics created elsewhere first. */
  private async catchUp(lookForTopic = true): Promise<boolean> {
    const log = await this.schemasLog(lookForTopic);
    if (!log) return false;
    // Another log (the topic was deleted and created again) or one whose start passed what was
    // applied: replay it from its start.
    if (log !== this.appliedLog || log.logStartOffset > this.applied) {
      if (this.appliedLog !== null) this.reset();
      this.appliedLog = log;
      this.applied = log.logStartOffset;
    }
    await log.refresh?.(true);
    let changed = false;
    while (this.applied < log.logEndOffset) {
      const batches = await log.read(this.applied, 4 << 20);
      if (batches.length === 0) break;
      for (const b of batches) {
        const next = batchBaseOffsetNumber(b) + batchLastOffsetDelta(b) + 1;
        if (next <= this.applied) continue;
        if (!batchIsControl(b)) {
          try {
            for (const r of decodeRecords(b).records) {
              if (r.offset < BigInt(this.applied) || r.key === null) continue;
              changed = true;
              try {
                this.apply(
                  JSON.parse(dec.decode(r.key)),
                  r.value === null ? null : JSON.parse(dec.decode(r.value)),
                );
              } catch (e) {
                this.deps.log("warn", `${SCHEMAS_TOPIC}: skipping a record that does not parse: ${String(e)}`);
              }
            }
          } catch (e) {
            this.deps.log("error", `${SCHEMAS_TOPIC}: skipping an unreadable batch: ${String(e)}`);
          }
        }
        this.applied = next;
      }
    }
    return changed;
  }

  private apply(key: Record<string, unknown>, value: Record<string, unknown> | null): void {
    this.generation++;
    const subject = key.subject as string | null;
    switch (key.keytype) {
      case "SCHEMA": {
        const list = this.subjects.get(subject!) ?? [];
        const i = list.findIndex((v) => v.version === key.version);
        if (value === null) {
          if (i >= 0) list.splice(i, 1);
        } else {
          const v: Version = {
            version: value.version as number,
            id: value.id as number,
            schema: value.schema as string,
            type: (value.schemaType as string | undefined) ?? "AVRO",
            references: (value.references as Reference[] | undefined) ?? [],
            deleted: value.deleted === true,
          };
          if (i >= 0) list[i] = v;
          else list.push(v);
          list.sort((a, b) => a.version - b.version);
          this.byId.set(v.id, { schema: v.schema, type: v.type, references: v.references });
          if (v.id >= this.nextId) this.nextId = v.id + 1;
        }
        if (list.length) this.subjects.set(subject!, list);
        else this.subjects.delete(subject!);
        break;
      }
      case "CONFIG":
        if (subject === null) this.globalLevel = (value?.compatibilityLevel as string) ?? "BACKWARD";
        else if (value === null) this.levels.delete(subject);
        else this.levels.set(subject, value.compatibilityLevel as string);
        break;
      case "MODE":
        if (subject === null) this.globalMode = (value?.mode as string) ?? "READWRITE";
        else if (value === null) this.modes.delete(subject);
        else this.modes.set(subject, value.mode as string);
        break;
    }
  }

  /**
   * Runs a change: catches up, lets `decide` look at the state and say what to write, appends that
   * to `_schemas` (created on first use) only if nothing was appended meanwhile, then applies it.
   * When another broker appended first, decides again. One change or catch-up at a time.
   */
  private change<T>(decide: () => Plan<T>): Promise<T> {
    const run = this.chain.then(async () => {
      for (let attempt = 1;; attempt++) {
        await this.catchUp();
        const plan = decide();
        if (plan.records.length === 0) return plan.result;
        const { topic } = await this.deps.topics.ensureInternal(SCHEMAS_TOPIC, 1);
        const log = topic.partitions[0];
        // Just created (here or elsewhere): catch up with it first.
        if (log !== this.appliedLog && attempt < MAX_ATTEMPTS) continue;
        if (log !== this.appliedLog) throw new RegistryError(500, 50001, "Error in the backend data store");
        const batch = buildRecordBatch({
          records: plan.records.map((r) => ({
            key: enc.encode(JSON.stringify(r.key)),
            value: r.value === null ? null : enc.encode(JSON.stringify(r.value)),
            timestamp: this.deps.now(),
          })),
        });
        const metas = scanBatches(batch);
        if (!Array.isArray(metas)) throw new RegistryError(500, 50001, "Error while storing the schema");
        try {
          const r = log.appendIf
            ? await log.appendIf(this.applied, batch, metas, { durable: true })
            : await log.append(batch, metas, { durable: true });
          // Applied from the log when something else was appended before it (no appendIf).
          if (r.baseOffset !== this.applied) {
            await this.catchUp();
            return plan.result;
          }
          this.applied = r.lastOffset + 1;
        } catch (e) {
          if (isLogEndMoved(e) && attempt < MAX_ATTEMPTS) continue;
          this.deps.log("error", `${SCHEMAS_TOPIC}: write failed: ${String(e)}`);
          throw new RegistryError(500, 50001, "Error in the backend data store");
        }
        for (const r of plan.records) this.apply(r.key, r.value);
        return plan.result;
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  private versionRecord(subject: string, v: Version) {
    const value: Record<string, unknown> = {
      subject,
      version: v.version,
      id: v.id,
      schema: v.schema,
      deleted: v.deleted,
    };
    if (v.type !== "AVRO") value.schemaType = v.type;
    if (v.references.length) value.references = v.references;
    return { key: { keytype: "SCHEMA", subject, version: v.version, magic: 1 }, value };
  }

  // ---- schemas ----------------------------------------------------------------------------------

  /** Parses `input` (422 42201 when invalid) and returns a canonical text and a checker. */
  private parse(input: SchemaInput) {
    const type = (input.schemaType ?? "AVRO").toUpperCase();
    if (!SCHEMA_TYPES.includes(type as typeof SCHEMA_TYPES[number])) {
      throw new RegistryError(422, 42201, `Invalid schema type ${input.schemaType}`);
    }
    const references = input.references ?? [];
    for (const r of references) {
      const v = this.subjects.get(r.subject)?.find((x) => x.version === r.version && !x.deleted);
      if (!v) {
        throw new RegistryError(
          422,
          42201,
          `Invalid schema: reference ${r.name} (${r.subject} v${r.version}) not found`,
        );
      }
    }
    try {
      if (type === "AVRO") {
        const named = new Map<string, AvroType>();
        const load = (refs: Reference[], depth: number) => {
          if (depth > 16) throw new AvroSchemaError("references nested too deeply");
          for (const r of refs) {
            const v = this.subjects.get(r.subject)!.find((x) => x.version === r.version)!;
            load(v.references, depth + 1);
            parseAvro(v.schema, named);
          }
        };
        load(references, 0);
        const parsed = parseAvro(input.schema, named);
        return { type, references, canonical: canonicalJson(input.schema), avro: parsed };
      }
      if (type === "JSON") {
        return { type, references, canonical: canonicalJson(input.schema), json: parseJsonSchema(input.schema) };
      }
      // Referenced schemas (imports), depth first, for serializers to resolve the types they declare.
      const protoImports: ProtoSchema[] = [];
      const loadProto = (refs: Reference[], depth: number) => {
        if (depth > 16) throw new ProtobufSchemaError("references nested too deeply");
        for (const r of refs) {
          const v = this.subjects.get(r.subject)!.find((x) => x.version === r.version)!;
          loadProto(v.references, depth + 1);
          protoImports.push(parseProto(v.schema));
        }
      };
      loadProto(references, 0);
      const proto = parseProto(input.schema);
      return { type, references, canonical: canonicalProto(input.schema), proto, protoImports };
    } catch (e) {
      if (e instanceof AvroSchemaError || e instanceof JsonSchemaError || e instanceof ProtobufSchemaError) {
        throw new RegistryError(422, 42201, `Invalid schema: ${e.message.replace(/^Invalid schema: /, "")}`);
      }
      throw e;
    }
  }

  private canonicalOf(s: Stored): string {
    return s.type === "PROTOBUF" ? canonicalProto(s.schema) : canonicalJson(s.schema);
  }

  private sameStored(a: Stored, b: { type: string; canonical: string; references: Reference[] }): boolean {
    return a.type === b.type && this.canonicalOf(a) === b.canonical &&
      JSON.stringify(a.references) === JSON.stringify(b.references);
  }

  /** Reasons `candidate` is incompatible with `old` in direction reader <- writer. */
  private incompatible(reader: ReturnType<SchemaRegistry["parse"]>, writer: ReturnType<SchemaRegistry["parse"]>) {
    if (reader.type !== writer.type) return [`schema type changed: ${writer.type} -> ${reader.type}`];
    if (reader.avro && writer.avro) return avroIncompatibilities(reader.avro, writer.avro);
    if (reader.json !== undefined && writer.json !== undefined) return jsonIncompatibilities(reader.json, writer.json);
    if (reader.proto && writer.proto) return protoIncompatibilities(reader.proto, writer.proto);
    return [];
  }

  /** Messages of every incompatibility of `input` with the subject's versions under its level. */
  compatibilityErrors(subject: string, input: SchemaInput, against?: number | string): string[] {
    const candidate = this.parse(input);
    const level = this.level(subject);
    const live = (this.subjects.get(subject) ?? []).filter((v) => !v.deleted);
    let olds: Version[];
    if (against !== undefined) {
      const v = this.version(subject, against);
      olds = [v];
    } else if (level.endsWith("_TRANSITIVE")) olds = live;
    else olds = live.slice(-1);
    if (level === "NONE") return [];
    const out: string[] = [];
    for (const old of olds) {
      const parsedOld = this.parse({ schema: old.schema, schemaType: old.type, references: old.references });
      if (level.startsWith("BACKWARD") || level.startsWith("FULL")) {
        for (const m of this.incompatible(candidate, parsedOld)) out.push(`v${old.version} BACKWARD: ${m}`);
      }
      if (level.startsWith("FORWARD") || level.startsWith("FULL")) {
        for (const m of this.incompatible(parsedOld, candidate)) out.push(`v${old.version} FORWARD: ${m}`);
      }
    }
    return out;
  }

  /** POST /subjects/{subject}/versions: the id of the schema (registered now or before). */
  register(subject: string, input: SchemaInput): Promise<number> {
    return this.change(() => this.planRegister(subject, input));
  }

  private planRegister(subject: string, input: SchemaInput): Plan<number> {
    const mode = this.mode(subject);
    if (mode === "READONLY") throw new RegistryError(422, 42205, `Subject ${subject} is in read-only mode`);
    // A given id and version count only in IMPORT mode (migrating another registry's schemas).
    const importing = mode === "IMPORT";
    const parsed = this.parse(input);
    const list = this.subjects.get(subject) ?? [];
    const existing = list.find((v) => !v.deleted && this.sameStored(v, parsed));
    if (existing && !importing) return { records: [], result: existing.id };
    if (!importing) {
      const errors = this.compatibilityErrors(subject, input);
      if (errors.length) {
        throw new RegistryError(
          409,
          409,
          `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${
            errors.join("; ")
          }]`,
        );
      }
    }
    let id: number | undefined;
    if (importing && input.id !== undefined && input.id >= 0) {
      const taken = this.byId.get(input.id);
      if (taken && !this.sameStored(taken, parsed)) {
        throw new RegistryError(422, 42205, `Overwrite new schema with id ${input.id} is not permitted.`);
      }
      id = input.id;
    } else {
      for (const [i, s] of this.byId) {
        if (this.sameStored(s, parsed)) {
          id = i;
          break;
        }
      }
      id ??= this.nextId;
    }
    const version = importing && input.version !== undefined && input.version > 0
      ? input.version
      : (list.length ? list[list.length - 1].version : 0) + 1;
    const v: Version = {
      version,
      id,
      schema: input.schema,
      type: parsed.type,
      references: parsed.references,
      deleted: false,
    };
    return { records: [this.versionRecord(subject, v)], result: id };
  }

  /** POST /subjects/{subject}: the live version holding this schema. */
  lookup(subject: string, input: SchemaInput, deleted = false): Version {
    const list = this.subjects.get(subject);
    if (!list || (!deleted && list.every((v) => v.deleted))) {
      throw new RegistryError(404, 40401, `Subject '${subject}' not found.`);
    }
    const parsed = this.parse(input);
    const v = list.find((x) => (deleted || !x.deleted) && this.sameStored(x, parsed));
    if (!v) throw new RegistryError(404, 40403, "Schema not found");
    return v;
  }

  subjectNames(deleted = false, prefix = ""): string[] {
    return [...this.subjects].filter(([s, vs]) => s.startsWith(prefix) && (deleted || vs.some((v) => !v.deleted)))
      .map(([s]) => s).sort();
  }

  versions(subject: string, deleted = false): number[] {
    const list = this.subjects.get(subject);
    const out = (list ?? []).filter((v) => deleted || !v.deleted).map((v) => v.version);
    if (!out.length) throw new RegistryError(404, 40401, `Subject '${subject}' not found.`);
    return out;
  }

  version(subject: string, which: number | "latest" | string, deleted = false): Version {
    const list = this.subjects.get(subject);
    if (!list || (!deleted && list.every((v) => v.deleted))) {
      throw new RegistryError(404, 40401, `Subject '${subject}' not found.`);
    }
    const live = list.filter((v) => deleted || !v.deleted);
    if (which === "latest" || which === -1 || which === "-1") {
      if (!live.length) throw new RegistryError(404, 40402, "Version not found.");
      return live[live.length - 1];
    }
    const n = Number(which);
    if (!Number.isInteger(n) || n < 1) {
      throw new RegistryError(
        422,
        42202,
        `The specified version '${which}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
      );
    }
    const v = live.find((x) => x.version === n);
    if (!v) throw new RegistryError(404, 40402, `Version ${n} not found.`);
    return v;
  }

  schemaById(id: number): Stored {
    const s = this.byId.get(id);
    if (!s) throw new RegistryError(404, 40403, "Schema not found");
    return s;
  }

  /** Subjects and versions that hold schema `id`. */
  usesOf(id: number, deleted = false): { subject: string; version: number }[] {
    this.schemaById(id);
    const out: { subject: string; version: number }[] = [];
    for (const [subject, list] of this.subjects) {
      for (const v of list) if (v.id === id && (deleted || !v.deleted)) out.push({ subject, version: v.version });
    }
    return out.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.version - b.version));
  }

  /** The schema of `id`, parsed (with its references), for serializers (REST Proxy v2). */
  parsedById(id: number) {
    const s = this.schemaById(id);
    return this.parse({ schema: s.schema, schemaType: s.type, references: s.references });
  }

  hasId(id: number): boolean {
    return this.byId.has(id);
  }

  private referencedBy(subject: string, version: number): boolean {
    for (const list of this.subjects.values()) {
      for (const v of list) {
        if (!v.deleted && v.references.some((r) => r.subject === subject && r.version === version)) return true;
      }
    }
    return false;
  }

  /** DELETE /subjects/{subject}: soft first, `permanent` after; the versions deleted. */
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.change(() => this.planDeleteSubject(subject, permanent));
  }

  private planDeleteSubject(subject: string, permanent: boolean): Plan<number[]> {
    if (this.mode(subject) === "READONLY") {
      throw new RegistryError(422, 42205, `Subject ${subject} is in read-only mode`);
    }
    const list = this.subjects.get(subject);
    if (!list) throw new RegistryError(404, 40401, `Subject '${subject}' not found.`);
    if (permanent) {
      if (list.some((v) => !v.deleted)) {
        throw new RegistryError(
          404,
          40405,
          `Subject '${subject}' was not deleted first before being permanently deleted`,
        );
      }
      const versions = list.map((v) => v.version);
      return {
        records: versions.map((version) => ({ key: { keytype: "SCHEMA", subject, version, magic: 1 }, value: null })),
        result: versions,
      };
    }
    const live = list.filter((v) => !v.deleted);
    if (!live.length) {
      throw new RegistryError(
        404,
        40404,
        `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`,
      );
    }
    if (live.some((v) => this.referencedBy(subject, v.version))) {
      throw new RegistryError(422, 42206, `One or more references exist to the schema {subject=${subject}}.`);
    }
    return {
      records: live.map((v) => this.versionRecord(subject, { ...v, deleted: true })),
      result: live.map((v) => v.version),
    };
  }

  deleteVersion(subject: string, which: string, permanent: boolean): Promise<number> {
    return this.change(() => this.planDeleteVersion(subject, which, permanent));
  }

  private planDeleteVersion(subject: string, which: string, permanent: boolean): Plan<number> {
    if (this.mode(subject) === "READONLY") {
      throw new RegistryError(422, 42205, `Subject ${subject} is in read-only mode`);
    }
    const v = this.version(subject, which, permanent);
    if (permanent) {
      if (!v.deleted) {
        throw new RegistryError(
          404,
          40407,
          `Subject '${subject}' Version ${v.version} was not deleted first before being permanently deleted`,
        );
      }
      return {
        records: [{ key: { keytype: "SCHEMA", subject, version: v.version, magic: 1 }, value: null }],
        result: v.version,
      };
    }
    if (this.referencedBy(subject, v.version)) {
      throw new RegistryError(
        422,
        42206,
        `One or more references exist to the schema {subject=${subject},version=${v.version}}.`,
      );
    }
    return { records: [this.versionRecord(subject, { ...v, deleted: true })], result: v.version };
  }

  // ---- config and mode --------------------------------------------------------------------------

  level(subject?: string): string {
    return (subject !== undefined ? this.levels.get(subject) : undefined) ?? this.globalLevel;
  }
  subjectLevel(subject: string): string | undefined {
    return this.levels.get(subject);
  }
  setLevel(subject: string | null, level: string): Promise<void> {
    const l = String(level).toUpperCase();
    if (!LEVELS.includes(l as typeof LEVELS[number])) {
      throw new RegistryError(
        422,
        42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
      );
    }
    const record = { key: { keytype: "CONFIG", subject, magic: 0 }, value: { compatibilityLevel: l } };
    return this.change(() => ({ records: [record], result: undefined }));
  }
  deleteLevel(subject: string): Promise<string> {
    return this.change(() => {
      const had = this.levels.get(subject);
      if (had === undefined) {
        throw new RegistryError(
          404,
          40408,
          `Subject '${subject}' does not have subject-level compatibility configured`,
        );
      }
      return { records: [{ key: { keytype: "CONFIG", subject, magic: 0 }, value: null }], result: had };
    });
  }

  mode(subject?: string): string {
    return (subject !== undefined ? this.modes.get(subject) : undefined) ?? this.globalMode;
  }
  subjectMode(subject: string): string | undefined {
    return this.modes.get(subject);
  }
  setMode(subject: string | null, mode: string, force: boolean): Promise<void> {
    const m = String(mode).toUpperCase();
    if (!MODES.includes(m as typeof MODES[number])) {
      throw new RegistryError(422, 42204, "Invalid mode. Valid values are READWRITE, READONLY, IMPORT.");
    }
    return this.change(() => {
      const empty = subject === null ? this.subjects.size === 0 : !this.subjects.has(subject);
      if (m === "IMPORT" && !empty && !force) {
        throw new RegistryError(422, 42205, "Cannot import since found existing subjects");
      }
      return { records: [{ key: { keytype: "MODE", subject, magic: 0 }, value: { mode: m } }], result: undefined };
    });
  }
  deleteMode(subject: string): Promise<string> {
    return this.change(() => {
      const had = this.modes.get(subject);
      if (had === undefined) {
        throw new RegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`);
      }
      return { records: [{ key: { keytype: "MODE", subject, magic: 0 }, value: null }], result: had };
    });
  }
}
