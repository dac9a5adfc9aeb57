// chronik acl create|list|delete, user create|delete|list (SCRAM), quota describe|alter
import { saltedPassword, SCRAM_MECHANISMS, SCRAM_TYPE } from "../../broker/auth/sasl.ts";
import type { ScramMechanism } from "../../broker/auth/sasl.ts";
import { AclOperation, AclPermission, CLUSTER_NAME, PatternType, ResourceType } from "../../broker/auth/acl.ts";
import { check } from "../../client/errors.ts";
import { AlterClientQuotas } from "../../protocol/messages/49_alter_client_quotas.ts";
import { AlterUserScramCredentials } from "../../protocol/messages/51_alter_user_scram_credentials.ts";
import { CreateAcls } from "../../protocol/messages/30_create_acls.ts";
import { DeleteAcls } from "../../protocol/messages/31_delete_acls.ts";
import { DescribeAcls } from "../../protocol/messages/29_describe_acls.ts";
import { DescribeClientQuotas } from "../../protocol/messages/48_describe_client_quotas.ts";
import { DescribeUserScramCredentials } from "../../protocol/messages/50_describe_user_scram_credentials.ts";
import { UsageError } from "../start_config.ts";
import type { Command } from "./command.ts";
import type { Ctx, OptSpec } from "./context.ts";
import { keyValue } from "./context.ts";

/** Lower-case names indexed by code, from one of acl.ts's tables of Kafka's codes. */
function namesByCode(codes: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  for (const [name, c] of Object.entries(codes)) out[c] = name.toLowerCase();
  return out;
}

const OPERATIONS = namesByCode(AclOperation);
const PERMISSIONS = namesByCode(AclPermission);
const RESOURCES = namesByCode(ResourceType);
const PATTERNS = namesByCode(PatternType);

const ACL_OPTS: OptSpec = {
  "--allow": "value",
  "--deny": "value",
  "--principal": "value",
  "--operation": "multi",
  "--topic": "value",
  "--group": "value",
  "--transactional-id": "value",
  "--cluster": "flag",
  "--prefixed": "flag",
  "--host": "value",
};

function code(list: readonly string[], name: string, what: string): number {
  const i = list.indexOf(name.toLowerCase().replace(/-/g, "_"));
  if (i < 0) throw new UsageError(`${what} must be one of ${list.slice(2).join(", ")}, got "${name}"`);
  return i;
}

/** The resource an ACL command names: --topic, --group, --transactional-id or --cluster (type, name). */
function resourceOf(ctx: Ctx, required: boolean): { type: number; name: string | null } {
  const given = [
    ctx.get("--topic") !== undefined ? { type: ResourceType.TOPIC, name: ctx.get("--topic")! } : null,
    ctx.get("--group") !== undefined ? { type: ResourceType.GROUP, name: ctx.get("--group")! } : null,
    ctx.get("--transactional-id") !== undefined
      ? { type: ResourceType.TRANSACTIONAL_ID, name: ctx.get("--transactional-id")! }
      : null,
    ctx.has("--cluster") ? { type: ResourceType.CLUSTER, name: CLUSTER_NAME } : null,
  ].filter((x) => x !== null);
  if (given.length > 1) throw new UsageError("name one resource: --topic, --group, --transactional-id or --cluster");
  if (given.length === 0) {
    if (required) throw new UsageError("name a resource: --topic, --group, --transactional-id or --cluster");
    return { type: ResourceType.ANY, name: null };
  }
  return given[0]!;
}

function principalOf(ctx: Ctx): { principal: string | null; permission: number } {
  const allow = ctx.get("--allow"), deny = ctx.get("--deny"), any = ctx.get("--principal");
  const p = (s: string) => (s.includes(":") ? s : `User:${s}`);
  if (allow !== undefined) return { principal: p(allow), permission: AclPermission.ALLOW };
  if (deny !== undefined) return { principal: p(deny), permission: AclPermission.DENY };
  return { principal: any === undefined ? null : p(any), permission: AclPermission.ANY };
}

function aclRow(resourceType: number, resourceName: string, patternType: number, a: {
  principal?: string;
  host?: string;
  operation?: number;
  permissionType?: number;
}) {
  return {
    principal: a.principal,
    permission: PERMISSIONS[a.permissionType ?? 0],
    operation: OPERATIONS[a.operation ?? 0],
    resourceType: RESOURCES[resourceType] ?? String(resourceType),
    resourceName,
    pattern: PATTERNS[patternType] ?? String(patternType),
    host: a.host,
  };
}

const ACL_COLUMNS = ["principal", "permission", "operation", "resourceType", "resourceName", "pattern", "host"];

function filterOf(ctx: Ctx) {
  const r = resourceOf(ctx, false);
  const { principal, permission } = principalOf(ctx);
  const ops = ctx.all("--operation");
  if (ops.length > 1) throw new UsageError("one --operation per filter");
  return {
    resourceTypeFilter: r.type,
    resourceNameFilter: r.name,
    patternTypeFilter: ctx.has("--prefixed")
      ? PatternType.PREFIXED
      : r.name === null
      ? PatternType.ANY
      : PatternType.LITERAL,
    principalFilter: principal,
    hostFilter: ctx.get("--host") ?? null,
    operation: ops.length ? code(OPERATIONS, ops[0], "--operation") : AclOperation.ANY,
    permissionType: permission,
  };
}

function entityOf(ctx: Ctx): { entityType: string; entityName: string | null }[] {
  const out: { entityType: string; entityName: string | null }[] = [];
  const user = ctx.get("--user-entity") ?? ctx.get("--quota-user");
  if (user !== undefined) out.push({ entityType: "user", entityName: user === "default" ? null : user });
  const client = ctx.get("--client-id-entity");
  if (client !== undefined) out.push({ entityType: "client-id", entityName: client === "default" ? null : client });
  const ip = ctx.get("--ip");
  if (ip !== undefined) out.push({ entityType: "ip", entityName: ip === "default" ? null : ip });
  return out;
}

const QUOTA_OPTS: OptSpec = { "--quota-user": "value", "--client-id-entity": "value", "--ip": "value" };
const QUOTA_ALIASES = { "--for-user": "--quota-user", "--for-client": "--client-id-entity" };

export const SECURITY_COMMANDS: Record<string, Command> = {
  "acl create": {
    summary: "add an ACL",
    usage:
      "--allow|--deny PRINCIPAL --operation OP... (--topic T | --group G | --transactional-id X | --cluster) [--prefixed] [--host H]",
    options: ACL_OPTS,
    async run(ctx) {
      const r = resourceOf(ctx, true);
      const { principal, permission } = principalOf(ctx);
      if (principal === null || permission === AclPermission.ANY) {
        throw new UsageError("give --allow PRINCIPAL or --deny PRINCIPAL");
      }
      const ops = ctx.all("--operation");
      if (ops.length === 0) throw new UsageError("give --operation (read, write, describe, all, ...)");
      const creations = ops.map((op) => ({
        resourceType: r.type,
        resourceName: r.name!,
        resourcePatternType: ctx.has("--prefixed") ? PatternType.PREFIXED : PatternType.LITERAL,
        principal,
        host: ctx.get("--host") ?? "*",
        operation: code(OPERATIONS, op, "--operation"),
        permissionType: permission,
      }));
      const c = await ctx.client.any();
      const res = await c.request(CreateAcls, { creations });
      for (const x of res.results ?? []) check(x.errorCode ?? 0, x.errorMessage, "creating an ACL");
      ctx.table(
        creations.map((a) => aclRow(a.resourceType, a.resourceName, a.resourcePatternType, a)),
        ACL_COLUMNS,
      );
    },
  },
  "acl list": {
    summary: "list ACLs (filter by resource, principal, operation)",
    usage: "[--topic T | --group G | --transactional-id X | --cluster] [--prefixed] [--principal P] [--operation OP]",
    options: ACL_OPTS,
    async run(ctx) {
      const c = await ctx.client.any();
      const r = await c.request(DescribeAcls, filterOf(ctx));
      check(r.errorCode ?? 0, r.errorMessage, "listing ACLs");
      const rows = (r.resources ?? []).flatMap((res) =>
        (res.acls ?? []).map((a) => aclRow(res.resourceType ?? 0, res.resourceName ?? "", res.patternType ?? 3, a))
      );
      ctx.table(rows, ACL_COLUMNS);
    },
  },
  "acl delete": {
    summary: "delete the ACLs matching a filter",
    usage:
      "[--allow|--deny|--principal P] [--operation OP] [--topic T | --group G | --transactional-id X | --cluster] [--prefixed]",
    options: ACL_OPTS,
    async run(ctx) {
      const c = await ctx.client.any();
      const r = await c.request(DeleteAcls, { filters: [filterOf(ctx)] });
      const fr = r.filterResults?.[0];
      check(fr?.errorCode ?? 0, fr?.errorMessage, "deleting ACLs");
      ctx.table(
        (fr?.matchingAcls ?? []).map((a) => aclRow(a.resourceType ?? 0, a.resourceName ?? "", a.patternType ?? 3, a)),
        ACL_COLUMNS,
      );
    },
  },
  "user list": {
    summary: "SCRAM users and their mechanisms",
    usage: "[NAME...]",
    async run(ctx) {
      const names = ctx.opts.positional;
      const c = await ctx.client.any();
      const r = await c.request(DescribeUserScramCredentials, {
        users: names.length ? names.map((name) => ({ name })) : null,
      });
      check(r.errorCode ?? 0, r.errorMessage, "listing users");
      const rows = [];
      for (const u of r.results ?? []) {
        check(u.errorCode ?? 0, u.errorMessage, `describing user ${u.user}`);
        for (const ci of u.credentialInfos ?? []) {
          rows.push({
            user: u.user,
            mechanism: SCRAM_MECHANISMS[(ci.mechanism ?? 1) - 1] ?? ci.mechanism,
            iterations: ci.iterations,
          });
        }
      }
      ctx.table(rows, ["user", "mechanism", "iterations"]);
    },
  },
  "user create": {
    summary: "create or update a SCRAM user (password hashed here, never sent)",
    usage: "NAME --new-password PW [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N]",
    options: { "--new-password": "value", "--mechanism": "value", "--iterations": "value" },
    async run(ctx) {
      const name = ctx.arg(0, "user name");
      const password = ctx.get("--new-password") ?? ctx.host.env?.CHRONIK_NEW_PASSWORD;
      if (!password) throw new UsageError("give --new-password (or CHRONIK_NEW_PASSWORD)");
      const mechanism = (ctx.get("--mechanism") ?? "SCRAM-SHA-256").toUpperCase() as ScramMechanism;
      if (!SCRAM_MECHANISMS.includes(mechanism)) {
        throw new UsageError("--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512");
      }
      const iterations = ctx.int("--iterations", 4096);
      const salt = crypto.getRandomValues(new Uint8Array(32));
      const salted = await saltedPassword(mechanism, password, salt, iterations);
      const c = await ctx.client.any();
      const r = await c.request(AlterUserScramCredentials, {
        deletions: [],
        upsertions: [{ name, mechanism: SCRAM_TYPE[mechanism], iterations, salt, saltedPassword: salted }],
      });
      for (const u of r.results ?? []) check(u.errorCode ?? 0, u.errorMessage, `creating user ${name}`);
      ctx.record({ user: name, mechanism, iterations });
    },
  },
  "user delete": {
    summary: "delete a SCRAM user's credential",
    usage: "NAME [--mechanism SCRAM-SHA-256|SCRAM-SHA-512]",
    options: { "--mechanism": "value" },
    async run(ctx) {
      const name = ctx.arg(0, "user name");
      const mechs = ctx.get("--mechanism") ? [ctx.get("--mechanism")!.toUpperCase() as ScramMechanism] : null;
      const c = await ctx.client.any();
      let list = mechs;
      if (list === null) {
        const d = await c.request(DescribeUserScramCredentials, { users: [{ name }] });
        const u = d.results?.[0];
        check(u?.errorCode ?? 0, u?.errorMessage, `describing user ${name}`);
        list = (u?.credentialInfos ?? []).map((ci) => SCRAM_MECHANISMS[(ci.mechanism ?? 1) - 1]);
      }
      const r = await c.request(AlterUserScramCredentials, {
        deletions: list.map((m) => ({ name, mechanism: SCRAM_TYPE[m] })),
        upsertions: [],
      });
      for (const u of r.results ?? []) check(u.errorCode ?? 0, u.errorMessage, `deleting user ${name}`);
      ctx.table(list.map((m) => ({ user: name, mechanism: m, status: "deleted" })), ["user", "mechanism", "status"]);
    },
  },
  "quota describe": {
    summary: "client quotas (by --for-user, --for-client, --ip; 'default' for the default entity)",
    usage: "[--for-user U] [--for-client C] [--ip A]",
    options: QUOTA_OPTS,
    aliases: QUOTA_ALIASES,
    async run(ctx) {
      const entities = entityOf(ctx);
      const c = await ctx.client.any();
      const r = await c.request(DescribeClientQuotas, {
        components: entities.map((e) => ({
          entityType: e.entityType,
          matchType: e.entityName === null ? 1 : 0,
          match: e.entityName,
        })),
        strict: false,
      });
      check(r.errorCode ?? 0, r.errorMessage, "describing quotas");
      const rows = [];
      for (const e of r.entries ?? []) {
        const entity = (e.entity ?? []).map((x) => `${x.entityType}=${x.entityName ?? "<default>"}`).join(",");
        for (const v of e.values ?? []) rows.push({ entity, key: v.key, value: v.value });
      }
      ctx.table(rows, ["entity", "key", "value"]);
    },
  },
  "quota alter": {
    summary: "set or remove client quotas",
    usage: "(--for-user U | --for-client C | --ip A)... [--set key=value]... [--delete key]...",
    options: { ...QUOTA_OPTS, "--set": "multi", "--delete": "multi", "--dry-run": "flag" },
    aliases: QUOTA_ALIASES,
    async run(ctx) {
      const entity = entityOf(ctx);
      if (entity.length === 0) throw new UsageError("name an entity: --for-user, --for-client or --ip");
      const set = ctx.all("--set").map((kv) => keyValue(kv, "--set"));
      for (const [k, v] of set) {
        if (!Number.isFinite(Number(v))) throw new UsageError(`${k} must be a number, got "${v}"`);
      }
      const ops = [
        ...set.map(([key, value]) => ({ key, value: Number(value), remove: false })),
        ...ctx.all("--delete").map((key) => ({ key, value: 0, remove: true })),
      ];
      if (ops.length === 0) throw new UsageError("nothing to change: give --set key=value or --delete key");
      const c = await ctx.client.any();
      const r = await c.request(AlterClientQuotas, { entries: [{ entity, ops }], validateOnly: ctx.has("--dry-run") });
      for (const e of r.entries ?? []) check(e.errorCode ?? 0, e.errorMessage, "altering quotas");
      ctx.record({
        entity: entity.map((x) => `${x.entityType}=${x.entityName ?? "<default>"}`).join(","),
        set: Object.fromEntries(set),
        deleted: ctx.all("--delete"),
      });
    },
  },
};
