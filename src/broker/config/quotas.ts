// Client quotas (DescribeClientQuotas, AlterClientQuotas): stored and validated with Kafka's
// entity and key rules, and enforced as Kafka's ClientQuotaManager does (KIP-13, KIP-55, KIP-124):
// producer_byte_rate, consumer_byte_rate and request_percentage, each resolved per connection
// (user principal, client id) through Kafka's eight entity levels, one rate per matched entity;
// controller_mutation_rate as ControllerMutationQuotaManager does (KIP-599), one token bucket per
// matched entity, taken from per request through a MutationQuota.
import { ErrorCode } from "../../protocol/errors.ts";
import { bucketThrottleMs, recordAndThrottle, SampledRate, TokenBucket } from "./quota_rate.ts";

export type EntityPart = { entityType: string; entityName: string | null };
export type QuotaOp = { key: string; value: number; remove: boolean };
export type QuotaFilter = { entityType: string; matchType: number; match: string | null };
export type QuotaSnapshot = { entity: EntityPart[]; values: Record<string, number> }[];
type Outcome = { errorCode: number; errorMessage: string | null };

const USER = "user";
const CLIENT_ID = "client-id";
const IP = "ip";
export const MATCH_EXACT = 0;
export const MATCH_DEFAULT = 1;
export const MATCH_SPECIFIED = 2;

/** Quota keys per entity kind, with Kafka's types. */
const CLIENT_KEYS: Record<string, "long" | "double" | "int"> = {
  producer_byte_rate: "long",
  consumer_byte_rate: "long",
  request_percentage: "double",
  controller_mutation_rate: "double",
};
const IP_KEYS: Record<string, "long" | "double" | "int"> = { connection_creation_rate: "int" };

const ok: Outcome = { errorCode: ErrorCode.NONE, errorMessage: null };
const invalid = (errorMessage: string): Outcome => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage });

type Entry = { entity: Map<string, string | null>; values: Map<string, number> };

/** The enforced quota types, in the order of `Binding.bounds`. */
export const PRODUCE = 0;
export const FETCH = 1;
export const REQUEST = 2;
export const MUTATION = 3;
const ENFORCED = [
  "producer_byte_rate",
  "consumer_byte_rate",
  "request_percentage",
  "controller_mutation_rate",
] as const;
const INT32_MAX = 2 ** 31 - 1;

/**
 * What a connection's requests are measured against, for one principal and client id, until the
 * quotas change (`version`): per type the bound (Infinity: none) and the shared rate.
 */
export type QuotaBinding = {
  version: number;
  principal: string;
  clientId: string | null;
  bounds: [number, number, number, number];
  rates: [SampledRate | null, SampledRate | null, SampledRate | null];
  /** controller_mutation_rate's bucket, shared like the rates. */
  bucket: TokenBucket | null;
};

/** Entity key parts: absent, `<default>` or a name (Kafka's ZooKeeper-path levels). */
const ABSENT = "-";
const DEFAULT = "*";
const named = (name: string) => `=${name}`;
const entityKey = (user: string, client: string) => `${user}\u0001${client}`;

export type QuotaWindows = { numSamples: number; windowMs: number };

export class ClientQuotas {
  private entries = new Map<string, Entry>();
  onChange: () => Promise<void> = async () => {};
  /**
   * Runs one change (the broker wires it to the admin store: in a cluster it first adopts the stored state and
   * runs the change again if another broker stored one meanwhile).
   */
  transact: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();
  /**
   * True while any user/client-id quota that the connection loop measures exists (byte rates,
   * request_percentage): the only check on hot paths. controller_mutation_rate is left out: only the
   * three admin handlers take from it, checking `typeActive[MUTATION]`.
   */
  active = false;
  /** Per enforced type, whether any entity has it. */
  readonly typeActive = [false, false, false, false];
  private readonly windows: QuotaWindows;
  /** Per type: entity key -> bound. */
  private overrides: Map<string, number>[] = [new Map(), new Map(), new Map(), new Map()];
  /** Per type: metric tags (user, client id of the matched entity) -> rate, shared by connections. */
  private readonly rates: Map<string, SampledRate>[] = [new Map(), new Map(), new Map()];
  /** controller_mutation_rate: metric tags -> token bucket. */
  private readonly buckets = new Map<string, TokenBucket>();
  /** connection_creation_rate per IP (KIP-612): the ip entity's or `<default>` ip's bound, by address. */
  private ipBounds = new Map<string | null, number>();
  private readonly ipRates = new Map<string, SampledRate>();
  private version = 1;

  constructor(windows: QuotaWindows = { numSamples: 11, windowMs: 1000 }) {
    this.windows = windows;
  }

  /** The binding of a connection, recomputed when quotas changed or the client id did. */
  bind(session: { principal: string; quota?: QuotaBinding }, clientId: string | null, now: number): QuotaBinding {
    const b = session.quota;
    if (b && b.version === this.version && b.clientId === clientId && b.principal === session.principal) return b;
    this.maybeSweep(now);
    const user = session.principal.startsWith("User:") ? session.principal.slice(5) : session.principal;
    const client = clientId ?? "";
    const nb: QuotaBinding = {
      version: this.version,
      principal: session.principal,
      clientId,
      bounds: [Infinity, Infinity, Infinity, Infinity],
      rates: [null, null, null],
      bucket: null,
    };
    for (let t = 0; t < ENFORCED.length; t++) {
      const m = this.resolve(t, user, client);
      if (m === null) continue;
      nb.bounds[t] = m.bound;
      if (t === MUTATION) {
        let bucket = this.buckets.get(m.tags);
        if (!bucket) this.buckets.set(m.tags, bucket = new TokenBucket(this.windows.numSamples, this.windows.windowMs));
        nb.bucket = bucket;
        continue;
      }
      let rate = this.rates[t].get(m.tags);
      if (!rate) this.rates[t].set(m.tags, rate = new SampledRate(this.windows.numSamples, this.windows.windowMs));
      nb.rates[t] = rate;
    }
    session.quota = nb;
    return nb;
  }

  /**
   * Kafka's DefaultQuotaCallback precedence: user+client, user+default client, user, default
   * user+client, default user+default client, default user, client, default client. The rate's
   * tags name the actual user / client id wherever the matched entity has that part, so e.g. a
   * `<default>` user quota is a separate rate per user.
   */
  private resolve(type: number, user: string, client: string): { bound: number; tags: string } | null {
    const o = this.overrides[type];
    if (o.size === 0) return null;
    const u = named(user);
    const c = named(client);
    const levels: [string, string][] = [
      [u, c],
      [u, DEFAULT],
      [u, ABSENT],
      [DEFAULT, c],
      [DEFAULT, DEFAULT],
      [DEFAULT, ABSENT],
      [ABSENT, c],
      [ABSENT, DEFAULT],
    ];
    for (const [up, cp] of levels) {
      const bound = o.get(entityKey(up, cp));
      if (bound === undefined) continue;
      return { bound, tags: entityKey(up === ABSENT ? "" : user, cp === ABSENT ? "" : client) };
    }
    return null;
  }

  /**
   * Records `value` (bytes for PRODUCE/FETCH, milliseconds of handler time for REQUEST) against the
   * connection's quota and returns the throttle time in ms (0 when within the quota or none).
   */
  record(type: number, b: QuotaBinding, value: number, now: number): number {
    const rate = type === MUTATION ? null : b.rates[type];
    if (rate === null) return 0;
    if (type === REQUEST) {
      // Percent of one thread's time: ms * 100 / 1000 per second of window is a percentage.
      // Capped at one window, as ClientRequestQuotaManager bounds it.
      return Math.min(recordAndThrottle(rate, value / 10, b.bounds[type], now, this.windows.windowMs), INT32_MAX);
    }
    return Math.min(recordAndThrottle(rate, value, b.bounds[type], now), INT32_MAX);
  }

  /** Records without a check (Kafka's recordNoThrottle / unrecordQuotaSensor with a negative value). */
  recordOnly(type: number, b: QuotaBinding, value: number, now: number): void {
    if (type !== MUTATION) b.rates[type]?.record(type === REQUEST ? value / 10 : value, now);
  }

  /**
   * ClientQuotaManager.getMaxValueInQuotaWindow: the most a Fetch may return at once without
   * certainly being throttled, bound * (samples - 1) * window.
   */
  maxInWindow(type: number, b: QuotaBinding): number {
    const bound = b.bounds[type];
    if (bound === Infinity) return Infinity;
    return bound * (this.windows.numSamples - 1) * (this.windows.windowMs / 1000);
  }

  /**
   * ControllerMutationQuotaManager.newQuotaFor: the controller_mutation_rate quota one CreateTopics,
   * CreatePartitions or DeleteTopics request takes partition mutations from. `strict` (the request
   * is at least the API's strict version) refuses mutations while the bucket is negative; otherwise
   * all are accepted and the request is throttled once the bucket is negative.
   */
  mutationQuota(
    session: { principal: string; quota?: QuotaBinding },
    clientId: string | null,
    strict: boolean,
    now: () => number,
  ): MutationQuota {
    if (!this.typeActive[MUTATION]) return UNBOUNDED;
    const b = this.bind(session, clientId, now());
    if (b.bucket === null) return UNBOUNDED;
    return new MutationQuota(b.bucket, b.bounds[MUTATION], strict, now);
  }

  /**
   * KIP-612: records a new connection from `ip` against its connection_creation_rate (the ip
   * entity's, else the `<default>` ip's) and returns the throttle time in ms, 0 when within it or
   * when there is none. Kafka accepts such a connection and closes it after the throttle time.
   */
  connectionCreated(ip: string, now: number): number {
    if (this.ipBounds.size === 0) return 0;
    const bound = this.ipBounds.get(ip) ?? this.ipBounds.get(null);
    if (bound === undefined) return 0;
    let rate = this.ipRates.get(ip);
    if (!rate) {
      if (this.ipRates.size > 10000) { for (const [k, r] of this.ipRates) if (r.idle(now)) this.ipRates.delete(k); }
      this.ipRates.set(ip, rate = new SampledRate(this.windows.numSamples, this.windows.windowMs));
    }
    if (bound <= 0) return this.windows.windowMs * this.windows.numSamples;
    return Math.min(recordAndThrottle(rate, 1, bound, now), INT32_MAX);
  }

  /** Rebuilds the per-type overrides after a change; bindings see it through `version`. */
  private reindex() {
    const o: Map<string, number>[] = [new Map(), new Map(), new Map(), new Map()];
    const ip = new Map<string | null, number>();
    for (const e of this.entries.values()) {
      if (e.entity.has(IP)) {
        const v = e.values.get("connection_creation_rate");
        if (v !== undefined) ip.set(e.entity.get(IP) ?? null, v);
        continue;
      }
      const part = (
        type: string,
      ) => (!e.entity.has(type) ? ABSENT : e.entity.get(type) === null ? DEFAULT : named(e.entity.get(type)!));
      const key = entityKey(part(USER), part(CLIENT_ID));
      for (let t = 0; t < ENFORCED.length; t++) {
        const v = e.values.get(ENFORCED[t]);
        if (v !== undefined) o[t].set(key, v);
      }
    }
    this.overrides = o;
    this.ipBounds = ip;
    for (let t = 0; t < ENFORCED.length; t++) this.typeActive[t] = o[t].size > 0;
    this.active = this.typeActive[PRODUCE] || this.typeActive[FETCH] || this.typeActive[REQUEST];
    this.version++;
  }

  /** Drops rates whose every sample has expired (a new one measures the same); rebinding follows. */
  private sweep(now: number) {
    for (const m of this.rates) for (const [k, r] of m) if (r.idle(now)) m.delete(k);
    for (const [k, b] of this.buckets) if (b.idle(now)) this.buckets.delete(k);
  }

  /** Bounds the number of idle rates kept for connections that came and went. */
  private maybeSweep(now: number) {
    let n = this.buckets.size;
    for (const m of this.rates) n += m.size;
    if (n > 10000) {
      this.sweep(now);
      this.version++;
    }
  }

  private static key(entity: ReadonlyMap<string, string | null>): string {
    return JSON.stringify([...entity].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  describe(
    components: readonly QuotaFilter[],
    strict: boolean,
  ): Outcome & { entries: { entity: EntityPart[]; values: { key: string; value: number }[] }[] | null } {
    const types = new Set<string>();
    for (const c of components) {
      if (types.has(c.entityType)) {
        return { ...invalid(`Duplicate filter component entity type: ${c.entityType}`), entries: null };
      }
      types.add(c.entityType);
      if (c.entityType !== USER && c.entityType !== CLIENT_ID && c.entityType !== IP) {
        return { ...invalid(`Custom entity type '${c.entityType}' not supported`), entries: null };
      }
      if (c.matchType === MATCH_EXACT && c.match === null) {
        return { ...invalid("Request specified MATCH_TYPE_EXACT, but set match string to null"), entries: null };
      }
      if (c.matchType === MATCH_DEFAULT && c.match !== null) {
        return { ...invalid("Request specified MATCH_TYPE_DEFAULT, but also specified a match string"), entries: null };
      }
      if (c.matchType === MATCH_SPECIFIED && c.match !== null) {
        return {
          ...invalid("Request specified MATCH_TYPE_SPECIFIED, but also specified a match string"),
          entries: null,
        };
      }
      if (c.matchType < 0 || c.matchType > 2) {
        return { ...invalid(`Unexpected match type: ${c.matchType}`), entries: null };
      }
    }
    if (types.has(IP) && types.size > 1) {
      return {
        ...invalid(
          "Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component.",
        ),
        entries: null,
      };
    }
    const out = [];
    for (const e of this.entries.values()) {
      if (strict && e.entity.size !== components.length) continue;
      const match = components.every((c) => {
        if (!e.entity.has(c.entityType)) return false;
        const name = e.entity.get(c.entityType)!;
        if (c.matchType === MATCH_EXACT) return name === c.match;
        if (c.matchType === MATCH_DEFAULT) return name === null;
        return name !== null;
      });
      if (!match) continue;
      out.push({
        entity: [...e.entity].map(([entityType, entityName]) => ({ entityType, entityName })),
        values: [...e.values].map(([key, value]) => ({ key, value })),
      });
    }
    return { ...ok, entries: out };
  }

  /** Checks one entry of AlterClientQuotas; applies it unless `validateOnly`. */
  alter(entity: readonly EntityPart[], ops: readonly QuotaOp[], validateOnly: boolean): Promise<Outcome> {
    return this.transact(() => this.alterNow(entity, ops, validateOnly));
  }

  private async alterNow(
    entity: readonly EntityPart[],
    ops: readonly QuotaOp[],
    validateOnly: boolean,
  ): Promise<Outcome> {
    if (entity.length === 0) return invalid("Invalid empty client quota entity");
    const map = new Map<string, string | null>();
    for (const p of entity) {
      if (p.entityType !== USER && p.entityType !== CLIENT_ID && p.entityType !== IP) {
        return {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          errorMessage: `Unhandled client quota entity type: ${p.entityType}`,
        };
      }
      if (map.has(p.entityType)) return invalid(`Duplicate ${p.entityType} entity type in client quota entity`);
      map.set(p.entityType, p.entityName);
    }
    if (map.has(IP)) {
      if (map.size > 1) {
        return invalid("Invalid quota entity combination, IP entity should not be combined with User or ClientId");
      }
      const ip = map.get(IP)!;
      if (ip !== null && !isIp(ip)) return invalid(`${ip} is not a valid IP or resolvable host.`);
    }
    const keys = map.has(IP) ? IP_KEYS : CLIENT_KEYS;
    const seen = new Set<string>();
    for (const o of ops) {
      if (seen.has(o.key)) return invalid(`Duplicate quota key ${o.key}`);
      seen.add(o.key);
      const type = Object.hasOwn(keys, o.key) ? keys[o.key] : undefined;
      if (!type) return invalid(`Invalid configuration key ${o.key}`);
      if (o.remove) continue;
      if (!Number.isFinite(o.value)) return invalid(`Invalid value ${o.value} for ${o.key}`);
      if (type !== "double") {
        if (o.value > (type === "int" ? 2 ** 31 - 1 : 2 ** 63 - 1)) {
          return invalid(`Proposed value for ${o.key} is too large for a ${type.toUpperCase()}.`);
        }
        if (o.value - Math.floor(o.value) > 0) return invalid(`${o.key} cannot be a fractional value.`);
      }
    }
    if (validateOnly) return ok;
    const k = ClientQuotas.key(map);
    const entry = this.entries.get(k) ?? { entity: map, values: new Map<string, number>() };
    for (const o of ops) {
      if (o.remove) entry.values.delete(o.key);
      else entry.values.set(o.key, o.value);
    }
    if (entry.values.size === 0) this.entries.delete(k);
    else this.entries.set(k, entry);
    this.reindex();
    await this.onChange();
    return ok;
  }

  snapshot(): QuotaSnapshot {
    return [...this.entries.values()].map((e) => ({
      entity: [...e.entity].map(([entityType, entityName]) => ({ entityType, entityName })),
      values: Object.fromEntries(e.values),
    }));
  }

  /** Replaces every quota with the snapshot's. */
  restore(s: QuotaSnapshot): void {
    this.entries.clear();
    for (const e of s) {
      const entity = new Map(e.entity.map((p) => [p.entityType, p.entityName] as const));
      this.entries.set(ClientQuotas.key(entity), { entity, values: new Map(Object.entries(e.values)) });
    }
    this.reindex();
  }
}

/**
 * One request's view of a controller_mutation_rate bucket (Kafka's Strict- and
 * PermissiveControllerMutationQuota). Without a quota, `UNBOUNDED` accepts everything.
 */
export class MutationQuota {
  private readonly bucket: TokenBucket | null;
  private readonly bound: number;
  private readonly strict: boolean;
  private readonly now: () => number;
  private lastThrottleMs = 0;
  private lastRecordedMs = 0;

  constructor(bucket: TokenBucket | null, bound: number, strict: boolean, now: () => number) {
    this.bucket = bucket;
    this.bound = bound;
    this.strict = strict;
    this.now = now;
  }

  /** Strict: a mutation was refused in this request (Kafka's isExceeded; never for a permissive one). */
  get exceeded(): boolean {
    return this.strict && this.lastThrottleMs > 0;
  }

  /**
   * Takes `permits` (partitions created, added or deleted). Strict: refused (false, nothing taken)
   * while the bucket is already negative, so the mutation that makes it negative is still accepted.
   * Permissive: always accepted, throttled once the bucket is negative.
   */
  record(permits: number): boolean {
    const bucket = this.bucket;
    if (bucket === null) return true;
    const now = this.now();
    if (this.strict) {
      const tokens = bucket.measure(this.bound, now);
      if (tokens < 0) {
        this.throttled(tokens, now);
        return false;
      }
      bucket.record(permits, this.bound, now);
      return true;
    }
    bucket.record(permits, this.bound, now);
    const tokens = bucket.measure(this.bound, now);
    if (tokens < 0) this.throttled(tokens, now);
    return true;
  }

  private throttled(tokens: number, now: number) {
    this.lastThrottleMs = Math.min(bucketThrottleMs(tokens, this.bound), INT32_MAX);
    this.lastRecordedMs = now;
  }

  /** The throttle time left: the last one recorded less the time since (the request may have waited). */
  throttleTimeMs(): number {
    if (this.lastThrottleMs === 0) return 0;
    return Math.max(0, this.lastThrottleMs - (this.now() - this.lastRecordedMs));
  }
}

const UNBOUNDED = new MutationQuota(null, Infinity, false, () => 0);

/** THROTTLING_QUOTA_EXCEEDED with Kafka's message, for a topic refused by a strict MutationQuota. */
export const THROTTLED = {
  errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
  errorMessage: "The throttling quota has been exceeded.",
} as const;

function isIp(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) return v4.slice(1).every((x) => Number(x) <= 255);
  return /^[0-9a-fA-F:]+$/.test(s) && s.includes(":") && s.split("::").length <= 2;
}
