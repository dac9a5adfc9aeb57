// Client quotas (DescribeClientQuotas, AlterClientQuotas): stored and validated with Kafka's
// entity and key rules. Enforcement (throttling) comes with the security work.
import { ErrorCode } from "../../protocol/errors.ts";

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

export class ClientQuotas {
  private entries = new Map<string, Entry>();
  onChange: () => Promise<void> = async () => {};

  private static key(entity: ReadonlyMap<string, string | null>): string {
    return JSON.stringify([...entity].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  describe(components: readonly QuotaFilter[], strict: boolean): Outcome & { entries: { entity: EntityPart[]; values: { key: string; value: number }[] }[] | null } {
    const types = new Set<string>();
    for (const c of components) {
      if (types.has(c.entityType)) return { ...invalid(`Duplicate filter component entity type: ${c.entityType}`), entries: null };
      types.add(c.entityType);
      if (c.entityType !== USER && c.entityType !== CLIENT_ID && c.entityType !== IP) {
        return { ...invalid(`Custom entity type '${c.entityType}' not supported`), entries: null };
      }
      if (c.matchType === MATCH_EXACT && c.match === null) return { ...invalid("Request specified MATCH_TYPE_EXACT, but set match string to null"), entries: null };
      if (c.matchType === MATCH_DEFAULT && c.match !== null) return { ...invalid("Request specified MATCH_TYPE_DEFAULT, but also specified a match string"), entries: null };
      if (c.matchType === MATCH_SPECIFIED && c.match !== null) return { ...invalid("Request specified MATCH_TYPE_SPECIFIED, but also specified a match string"), entries: null };
      if (c.matchType < 0 || c.matchType > 2) return { ...invalid(`Unexpected match type: ${c.matchType}`), entries: null };
    }
    if (types.has(IP) && types.size > 1) {
      return { ...invalid("Invalid entity filter component combination, IP filter component should not be used with user or clientId filter component."), entries: null };
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
  async alter(entity: readonly EntityPart[], ops: readonly QuotaOp[], validateOnly: boolean): Promise<Outcome> {
    if (entity.length === 0) return invalid("Invalid empty client quota entity");
    const map = new Map<string, string | null>();
    for (const p of entity) {
      if (p.entityType !== USER && p.entityType !== CLIENT_ID && p.entityType !== IP) {
        return { errorCode: ErrorCode.UNSUPPORTED_VERSION, errorMessage: `Unhandled client quota entity type: ${p.entityType}` };
      }
      if (map.has(p.entityType)) return invalid(`Duplicate ${p.entityType} entity type in client quota entity`);
      map.set(p.entityType, p.entityName);
    }
    if (map.has(IP)) {
      if (map.size > 1) return invalid("Invalid quota entity combination, IP entity should not be combined with User or ClientId");
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
        if (o.value > (type === "int" ? 2 ** 31 - 1 : 2 ** 63 - 1)) return invalid(`Proposed value for ${o.key} is too large for a ${type.toUpperCase()}.`);
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
    await this.onChange();
    return ok;
  }

  snapshot(): QuotaSnapshot {
    return [...this.entries.values()].map((e) => ({
      entity: [...e.entity].map(([entityType, entityName]) => ({ entityType, entityName })),
      values: Object.fromEntries(e.values),
    }));
  }

  restore(s: QuotaSnapshot): void {
    for (const e of s) {
      const entity = new Map(e.entity.map((p) => [p.entityType, p.entityName] as const));
      this.entries.set(ClientQuotas.key(entity), { entity, values: new Map(Object.entries(e.values)) });
    }
  }
}

function isIp(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) return v4.slice(1).every((x) => Number(x) <= 255);
  return /^[0-9a-fA-F:]+$/.test(s) && s.includes(":") && s.split("::").length <= 2;
}
