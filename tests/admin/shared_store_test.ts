// Two brokers' admin state (openAdmin) over one admin store, as the brokers of a cluster share PostgreSQL's (the
// memory store has the same revision check): concurrent changes through both survive, a change through one replaces
// the other's copy of that part when adopted (removals included) and what reads it follows, per-broker configs stay
// per broker, and a save that fails leaves the broker as stored. tests/e2e/postgres_cluster_admin_test.ts does it
// with real brokers and clients on PostgreSQL.
import { afterAll, expect, test } from "bun:test";
import { AclOperation, AclPermission, PatternType } from "../../src/broker/auth/acl.ts";
import type { AclBinding } from "../../src/broker/auth/acl.ts";
import type { Admin } from "../../src/broker/config/index.ts";
import { openAdmin } from "../../src/broker/config/index.ts";
import { ResourceType } from "../../src/broker/config/configs.ts";
import { Topics } from "../../src/broker/topics.ts";
import { configNumber, resolveConfig } from "../../src/config.ts";
import type { BrokerConfig } from "../../src/config.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { AdminStore } from "../../src/storage/admin.ts";
import { memoryAdminStore } from "../../src/storage/admin.ts";
import { memoryLogStore } from "../../src/storage/memory.ts";
import { memoryMetadataStore } from "../../src/storage/metadata.ts";
import { quietRuntime } from "../helpers/broker.ts";

const opened: Admin[] = [];
afterAll(() => opened.forEach((a) => a.close()));

async function admin(
  nodeId: number,
  store: AdminStore,
): Promise<{ admin: Admin; config: BrokerConfig; lines: string[] }> {
  const given = { nodeId, "authorizer.class.name": "StandardAuthorizer" } as Partial<BrokerConfig>;
  const config = resolveConfig(given);
  const topics = new Topics(memoryLogStore(), memoryMetadataStore());
  const runtime = quietRuntime();
  const a = await openAdmin(runtime, config, given, topics, new Set([68]), () => ({}), store);
  a.followStore();
  opened.push(a);
  return { admin: a, config, lines: runtime.lines };
}

const acl = (group: string): AclBinding => ({
  resourceType: 3, // GROUP
  resourceName: group,
  patternType: PatternType.LITERAL,
  principal: "User:alice",
  host: "*",
  operation: AclOperation.READ,
  permissionType: AclPermission.ALLOW,
});
const groups = (a: Admin) => a.acls.list().map((b) => b.resourceName).sort();

test("changes through two brokers at once all survive; each adopts the other's, removals included", async () => {
  const store = memoryAdminStore();
  const { admin: a, lines } = await admin(1, store);
  const { admin: b, config: bConfig } = await admin(2, store);
  await Promise.all([
    ...["a1", "a2", "a3"].map((g) => a.acls.create([acl(g)])),
    ...["b1", "b2", "b3"].map((g) => b.acls.create([acl(g)])),
  ]);
  await a.follow();
  await b.follow();
  expect(groups(a)).toEqual(["a1", "a2", "a3", "b1", "b2", "b3"]);
  expect(groups(b)).toEqual(groups(a));
  expect(lines.some((l) => l.includes("superseded"))).toBe(true); // a lost a race and applied its change again
  expect(b.acls.authorize("User:alice", "127.0.0.1", AclOperation.READ, 3, "a2")).toBe(true);

  // Removals through a reach b; so do quotas and the cluster-wide default (the live config b's services read).
  await a.acls.delete([{ ...acl("a2"), patternType: PatternType.ANY, operation: AclOperation.ANY }]);
  const retention = configNumber(bConfig, "log.retention.ms");
  await a.quotas.alter([{ entityType: "client-id", entityName: "slow" }], [{
    key: "producer_byte_rate",
    value: 2048,
    remove: false,
  }], false);
  const set = await a.configs.alter(
    ResourceType.BROKER,
    "",
    [{ name: "log.retention.ms", op: 0, value: "7654321" }],
    true,
    false,
  );
  expect(set.errorCode).toBe(ErrorCode.NONE);
  expect(await b.follow()).toBe(true);
  expect(groups(b)).toEqual(["a1", "a3", "b1", "b2", "b3"]);
  expect(b.acls.authorize("User:alice", "127.0.0.1", AclOperation.READ, 3, "a2")).toBe(false);
  expect(b.quotas.snapshot()).toEqual([{
    entity: [{ entityType: "client-id", entityName: "slow" }],
    values: { producer_byte_rate: 2048 },
  }]);
  expect(configNumber(bConfig, "log.retention.ms")).toBe(7654321);
  await a.quotas.alter([{ entityType: "client-id", entityName: "slow" }], [{
    key: "producer_byte_rate",
    value: 0,
    remove: true,
  }], false);
  await a.configs.alter(ResourceType.BROKER, "", [{ name: "log.retention.ms", op: 1, value: null }], true, false);
  expect(await b.follow()).toBe(true);
  expect(b.quotas.snapshot()).toEqual([]);
  expect(configNumber(bConfig, "log.retention.ms")).toBe(retention);
  expect(await b.follow()).toBe(false); // nothing new
});

test("client-metrics subscriptions and finalized features follow too", async () => {
  const store = memoryAdminStore();
  const { admin: a } = await admin(1, store);
  const { admin: b } = await admin(2, store);
  const sub = await a.configs.alter(
    ResourceType.CLIENT_METRICS,
    "all",
    [
      { name: "metrics", op: 0, value: "org.apache.kafka." },
      { name: "interval.ms", op: 0, value: "1000" },
    ],
    true,
    false,
  );
  expect(sub.errorCode).toBe(ErrorCode.NONE);
  const tv = await b.features.update([{ feature: "transaction.version", maxVersionLevel: 1, upgradeType: 2 }], false);
  expect(tv.errorCode).toBe(ErrorCode.NONE); // b adopted a's change first, then stored its own on top
  expect(b.clientMetrics.names()).toEqual(["all"]);
  expect(await a.follow()).toBe(true);
  expect(a.features.level("transaction.version")).toBe(1);
  await a.configs.alter(ResourceType.CLIENT_METRICS, "all", [], false, false); // removes the subscription
  await b.follow();
  expect(b.clientMetrics.names()).toEqual([]);
  expect(b.features.level("transaction.version")).toBe(1);
});

test("per-broker dynamic configs stay with their broker in the shared document", async () => {
  const store = memoryAdminStore();
  const { admin: a, config: aConfig } = await admin(1, store);
  const { admin: b, config: bConfig } = await admin(2, store);
  const alter = (x: Admin, node: string, value: string) =>
    x.configs.alter(ResourceType.BROKER, node, [{ name: "message.max.bytes", op: 0, value }], true, false);
  expect((await alter(a, "1", "4000")).errorCode).toBe(ErrorCode.NONE);
  expect((await alter(b, "2", "5000")).errorCode).toBe(ErrorCode.NONE);
  await a.follow();
  expect(configNumber(aConfig, "message.max.bytes")).toBe(4000);
  expect(configNumber(bConfig, "message.max.bytes")).toBe(5000);
  const { config: later } = await admin(1, store); // node 1 restarted
  expect(configNumber(later, "message.max.bytes")).toBe(4000);
});

test("a save that fails: the change is refused and the broker stays as stored", async () => {
  const inner = memoryAdminStore();
  let fail = false;
  const store: AdminStore = {
    load: () => inner.load(),
    revision: () => inner.revision(),
    save: (doc, base) => fail ? Promise.reject(new Error("storage down")) : inner.save(doc, base),
  };
  const { admin: a } = await admin(1, store);
  await a.acls.create([acl("kept")]);
  fail = true;
  await expect(a.acls.create([acl("lost")])).rejects.toThrow("storage down");
  expect(groups(a)).toEqual(["kept"]);
  fail = false;
  await a.acls.create([acl("later")]);
  expect(groups(a)).toEqual(["kept", "later"]);
  expect(((await inner.load()).doc?.acls as AclBinding[]).map((x) => x.resourceName).sort()).toEqual(["kept", "later"]);
});
