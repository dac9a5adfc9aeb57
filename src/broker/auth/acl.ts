// ACLs and the authorizer, with Kafka's semantics (StandardAuthorizer): bindings of a resource
// pattern (literal name, the literal wildcard "*", or a prefix) to a principal, a host, an
// operation and ALLOW or DENY. A request is allowed when the principal is a super user
// (`super.users`), or no DENY binding matches and an ALLOW binding matches its operation, ALL,
// or an operation that implies it (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS
// implies DESCRIBE_CONFIGS). A resource without any binding is allowed only with
// `allow.everyone.if.no.acl.found=true`. The authorizer is on when `authorizer.class.name` names
// one (any non-empty value: ours is the only one); without it every request is allowed and the
// ACL APIs answer SECURITY_DISABLED, as Kafka does.

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export const CLUSTER_NAME = "kafka-cluster";
export const WILDCARD = "*";

export type AclBinding = {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
};

/** DescribeAcls / DeleteAcls filters: null strings and ANY enums match everything. */
export type AclFilter = {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
};

const IMPLIED: ReadonlyMap<number, readonly number[]> = new Map([
  [AclOperation.DESCRIBE, [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER]],
  [AclOperation.DESCRIBE_CONFIGS, [AclOperation.ALTER_CONFIGS]],
]);

/** The operations that a resource type has, for authorized-operations bit sets (Kafka's lists). */
export const RESOURCE_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
  ],
  [ResourceType.GROUP]: [AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE],
  [ResourceType.CLUSTER]: [
    AclOperation.CREATE,
    AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.CREATE_TOKENS,
    AclOperation.DESCRIBE_TOKENS,
  ],
  [ResourceType.TRANSACTIONAL_ID]: [AclOperation.DESCRIBE, AclOperation.WRITE],
};

const key = (b: AclBinding) =>
  `${b.resourceType}\u0000${b.patternType}\u0000${b.resourceName}\u0000${b.principal}\u0000${b.host}\u0000${b.operation}\u0000${b.permissionType}`;

/** A filter as DescribeAcls and DeleteAcls carry it on the wire. */
export function filterOf(
  f: {
    resourceTypeFilter: number;
    resourceNameFilter: string | null;
    patternTypeFilter: number;
    principalFilter: string | null;
    hostFilter: string | null;
    operation: number;
    permissionType: number;
  },
): AclFilter {
  return {
    resourceType: f.resourceTypeFilter,
    resourceName: f.resourceNameFilter,
    patternType: f.patternTypeFilter,
    principal: f.principalFilter,
    host: f.hostFilter,
    operation: f.operation,
    permissionType: f.permissionType,
  };
}

/** Why a binding cannot be created (Kafka's messages), or null. */
export function invalidBinding(b: AclBinding): string | null {
  if (
    b.resourceType === ResourceType.ANY || b.resourceType === ResourceType.UNKNOWN ||
    !Object.values(ResourceType).includes(b.resourceType as never)
  ) return "Invalid resource type";
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) {
    return "Invalid resource pattern type: only LITERAL and PREFIXED ACLs can be created";
  }
  if (
    b.operation === AclOperation.ANY || b.operation === AclOperation.UNKNOWN ||
    !Object.values(AclOperation).includes(b.operation as never)
  ) return "Invalid operation";
  if (b.permissionType !== AclPermission.ALLOW && b.permissionType !== AclPermission.DENY) {
    return "Invalid permission type";
  }
  if (b.resourceName === "") return "Resource name must not be empty";
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  }
  if (!/^[^:]+:.+$/.test(b.principal)) {
    return `Could not parse principal from \`${b.principal}\` (no colon is found between principal type and name)`;
  }
  if (b.host === "") return "Host must not be empty (use * for any host)";
  return null;
}

/** An invalid filter for DeleteAcls (UNKNOWN enums), or null. */
export function invalidFilter(f: AclFilter): string | null {
  if (
    f.resourceType === ResourceType.UNKNOWN || f.patternType === PatternType.UNKNOWN ||
    f.operation === AclOperation.UNKNOWN || f.permissionType === AclPermission.UNKNOWN
  ) {
    return "Filter contains UNKNOWN elements";
  }
  return null;
}

/** Does a binding's pattern cover the resource name (literal, wildcard, prefix)? */
function patternCovers(b: AclBinding, name: string): boolean {
  if (b.patternType === PatternType.LITERAL) return b.resourceName === name || b.resourceName === WILDCARD;
  return b.patternType === PatternType.PREFIXED && name.startsWith(b.resourceName);
}

export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  switch (f.patternType) {
    case PatternType.ANY:
      if (f.resourceName !== null && f.resourceName !== b.resourceName) return false;
      break;
    case PatternType.MATCH:
      if (f.resourceName !== null && !patternCovers(b, f.resourceName)) return false;
      break;
    default:
      if (f.patternType !== b.patternType) return false;
      if (f.resourceName !== null && f.resourceName !== b.resourceName) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  if (f.permissionType !== AclPermission.ANY && f.permissionType !== b.permissionType) return false;
  return true;
}

export class Authorizer {
  private readonly bindings = new Map<string, AclBinding>();
  private readonly byType = new Map<number, AclBinding[]>();
  /** Called after every change (persistence). */
  onChange: () => Promise<void> | void = () => {};
  /**
   * Runs one change (the broker wires it to the admin store: in a cluster it first adopts the stored state and
   * runs the change again if another broker stored one meanwhile).
   */
  transact: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();

  /** `settings` is read on every decision (configs may change); `isEnabled` alone on the hot path. */
  constructor(
    private readonly isEnabled: () => boolean,
    private readonly settings: () => { enabled: boolean; superUsers: ReadonlySet<string>; allowIfNoAcl: boolean },
  ) {}

  get enabled(): boolean {
    return this.isEnabled();
  }

  /** Is `principal` at `host` allowed `operation` on the resource? */
  authorize(principal: string, host: string, operation: number, resourceType: number, name: string): boolean {
    const s = this.settings();
    if (!s.enabled || s.superUsers.has(principal)) return true;
    let anyForResource = false;
    let allowed = false;
    const implied = IMPLIED.get(operation) ?? [];
    for (const b of this.byType.get(resourceType) ?? []) {
      if (!patternCovers(b, name)) continue;
      anyForResource = true;
      if (b.principal !== principal && b.principal !== "User:*") continue;
      if (b.host !== host && b.host !== WILDCARD) continue;
      if (b.permissionType === AclPermission.DENY) {
        if (b.operation === operation || b.operation === AclOperation.ALL) return false;
        continue;
      }
      if (b.operation === operation || b.operation === AclOperation.ALL || implied.includes(b.operation)) {
        allowed = true;
      }
    }
    return allowed || (!anyForResource && s.allowIfNoAcl);
  }

  /**
   * Is the principal allowed `operation` on some resource of the type (Kafka's
   * authorizeByResourceType, e.g. WRITE on any topic lets a producer be idempotent)? An ALLOW
   * binding for it is enough unless a DENY binding on the literal wildcard takes everything away.
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    const s = this.settings();
    if (!s.enabled || s.superUsers.has(principal)) return true;
    let allowed = false;
    for (const b of this.byType.get(resourceType) ?? []) {
      if (b.principal !== principal && b.principal !== "User:*") continue;
      if (b.host !== host && b.host !== WILDCARD) continue;
      if (b.operation !== operation && b.operation !== AclOperation.ALL) continue;
      if (
        b.permissionType === AclPermission.DENY && b.patternType === PatternType.LITERAL && b.resourceName === WILDCARD
      ) return false;
      if (b.permissionType === AclPermission.ALLOW) allowed = true;
    }
    return allowed || (s.allowIfNoAcl && (this.byType.get(resourceType)?.length ?? 0) === 0);
  }

  /** Kafka's authorized-operations bit set (bit n = operation n) for the resource's operations. */
  authorizedOperations(principal: string, host: string, resourceType: number, name: string): number {
    let bits = 0;
    for (const op of RESOURCE_OPERATIONS[resourceType] ?? []) {
      if (this.authorize(principal, host, op, resourceType, name)) bits |= 1 << op;
    }
    return bits;
  }

  list(): AclBinding[] {
    return [...this.bindings.values()];
  }

  describe(f: AclFilter): AclBinding[] {
    return this.list().filter((b) => filterMatches(f, b));
  }

  /** Adds bindings (an existing one is kept as is); one error message or null each. */
  create(bindings: AclBinding[]): Promise<(string | null)[]> {
    return this.transact(() => this.createNow(bindings));
  }

  private async createNow(bindings: AclBinding[]): Promise<(string | null)[]> {
    const out: (string | null)[] = [];
    let changed = false;
    for (const b of bindings) {
      const invalid = invalidBinding(b);
      out.push(invalid);
      if (invalid !== null || this.bindings.has(key(b))) continue;
      this.bindings.set(key(b), { ...b });
      changed = true;
    }
    if (changed) {
      this.reindex();
      await this.onChange();
    }
    return out;
  }

  /** Removes what each filter matches; per filter the removed bindings, or an error message. */
  delete(filters: AclFilter[]): Promise<({ removed: AclBinding[] } | { error: string })[]> {
    return this.transact(() => this.deleteNow(filters));
  }

  private async deleteNow(filters: AclFilter[]): Promise<({ removed: AclBinding[] } | { error: string })[]> {
    const out: ({ removed: AclBinding[] } | { error: string })[] = [];
    let changed = false;
    for (const f of filters) {
      const invalid = invalidFilter(f);
      if (invalid !== null) {
        out.push({ error: invalid });
        continue;
      }
      const removed = this.describe(f);
      for (const b of removed) this.bindings.delete(key(b));
      if (removed.length > 0) changed = true;
      out.push({ removed });
    }
    if (changed) {
      this.reindex();
      await this.onChange();
    }
    return out;
  }

  private reindex() {
    this.byType.clear();
    for (const b of this.bindings.values()) {
      let l = this.byType.get(b.resourceType);
      if (!l) this.byType.set(b.resourceType, l = []);
      l.push(b);
    }
  }

  snapshot(): AclBinding[] {
    return this.list();
  }

  restore(bindings: AclBinding[]) {
    this.bindings.clear();
    for (const b of bindings) if (invalidBinding(b) === null) this.bindings.set(key(b), { ...b });
    this.reindex();
  }
}

/** `super.users`: principals separated by semicolons, as Kafka reads them. */
export function parseSuperUsers(raw: unknown): Set<string> {
  if (raw === undefined || raw === null) return new Set();
  const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(";");
  return new Set(list.map((s) => s.trim()).filter((s) => s !== ""));
}
