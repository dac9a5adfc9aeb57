// controller_mutation_rate over the wire (KIP-599). The broker runs with quota.window.num=2 and
// 1 s windows, so a client with controller_mutation_rate=2 has a bucket of 2 x 1 s x 2 = 4 partition
// mutations, refilled at 2 a second. Each test uses a client id of its own (its own bucket).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { CreatePartitions } from "../../src/protocol/messages/37_create_partitions.ts";
import { AlterClientQuotas } from "../../src/protocol/messages/49_alter_client_quotas.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";

let broker: Broker;
let admin: WireClient;
const open: WireClient[] = [];
const ZERO = "AAAAAAAAAAAAAAAAAAAAAA";
const MESSAGE = "The throttling quota has been exceeded.";
// A timer may fire a little early on some runtimes; the broker mutes before the response leaves.
const SLACK_MS = 15;

async function client(): Promise<WireClient> {
  const c = await WireClient.connect(broker.port);
  open.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setQuota(clientId: string, value: number | null) {
  const r = await admin.send(AlterClientQuotas, 1, {
    entries: [{
      entity: [{ entityType: "client-id", entityName: clientId }],
      ops: [{ key: "controller_mutation_rate", value: value ?? 0, remove: value === null }],
    }],
    validateOnly: false,
  }, "admin");
  expect(r.entries![0].errorCode).toBe(0);
}

function createTopics(c: WireClient, clientId: string, topics: [string, number][], version = 7, validateOnly = false) {
  return c.send(CreateTopics, version, {
    topics: topics.map(([name, numPartitions]) => ({
      name,
      numPartitions,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 1000,
    validateOnly,
  }, clientId);
}

function deleteTopics(c: WireClient, clientId: string, names: string[], version = 6) {
  return c.send(DeleteTopics, version, {
    topics: names.map((name) => ({ name, topicId: ZERO })),
    topicNames: names,
    timeoutMs: 1000,
  }, clientId);
}

function createPartitions(
  c: WireClient,
  clientId: string,
  topics: [string, number][],
  version = 3,
  validateOnly = false,
) {
  return c.send(CreatePartitions, version, {
    topics: topics.map(([name, count]) => ({ name, count, assignments: null })),
    timeoutMs: 1000,
    validateOnly,
  }, clientId);
}

const metadata = (c: WireClient, clientId: string) =>
  c.send(
    Metadata,
    12,
    {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    },
    clientId,
  );

/** Topics the admin (no quota) creates for a test. */
async function given(topics: [string, number][]) {
  const r = await createTopics(admin, "admin", topics);
  for (const t of r.topics!) expect(t.errorCode).toBe(0);
}

/** The next request on a throttled connection is answered not before the throttle time. */
async function expectMuted(c: WireClient, clientId: string, throttleTimeMs: number) {
  const t0 = performance.now();
  await metadata(c, clientId);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(throttleTimeMs - SLACK_MS);
}

const codes = (rs: { errorCode?: number }[]) => rs.map((r) => r.errorCode);

beforeAll(async () => {
  broker = await testBroker({ "quota.window.num": 2, "quota.window.size.seconds": 1 });
  admin = await client();
});

afterAll(async () => {
  for (const c of open) c.close();
  await broker.close();
});

describe("controller_mutation_rate on the wire", () => {
  test("CreateTopics v7: later topics get THROTTLING_QUOTA_EXCEEDED with throttleTimeMs; validateOnly takes nothing; creating again after waiting", async () => {
    await setQuota("mut-create", 2);
    const c = await client();
    // validateOnly: 50 partitions checked, none taken.
    const v = await createTopics(c, "mut-create", [["ct-v", 50]], 7, true);
    expect(v.topics![0].errorCode).toBe(0);
    expect(v.throttleTimeMs).toBe(0);
    // 4 tokens: ct-1 leaves 1, ct-2 (accepted while not negative) leaves -2, ct-3 is refused.
    const r = await createTopics(c, "mut-create", [["ct-1", 3], ["ct-2", 3], ["ct-3", 3]]);
    expect(codes(r.topics!)).toEqual([0, 0, ErrorCode.THROTTLING_QUOTA_EXCEEDED]);
    expect(r.topics![2].errorMessage).toBe(MESSAGE);
    expect(r.topics![2].numPartitions).toBe(-1);
    expect(r.throttleTimeMs).toBeGreaterThan(0);
    await expectMuted(c, "mut-create", r.throttleTimeMs!);
    // Only the accepted ones exist.
    const m = await admin.send(Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }, "admin");
    const names = m.topics!.map((t) => t.name);
    expect(names).toContain("ct-1");
    expect(names).toContain("ct-2");
    expect(names).not.toContain("ct-3");
    expect(names).not.toContain("ct-v");
    // Once the tokens are back, it is created.
    await sleep(r.throttleTimeMs! + 100);
    const again = await createTopics(c, "mut-create", [["ct-3", 1]]);
    expect(again.topics![0].errorCode).toBe(0);
    await setQuota("mut-create", null);
  });

  test("DeleteTopics v6: later topics refused while the bucket is negative, deleted after waiting", async () => {
    await given([["dt-1", 3], ["dt-2", 3], ["dt-3", 3]]);
    await setQuota("mut-delete", 2);
    const c = await client();
    const r = await deleteTopics(c, "mut-delete", ["dt-1", "dt-2", "dt-3"]);
    expect(codes(r.responses!)).toEqual([0, 0, ErrorCode.THROTTLING_QUOTA_EXCEEDED]);
    expect(r.responses![2].errorMessage).toBe(MESSAGE);
    expect(r.throttleTimeMs).toBeGreaterThan(0);
    await expectMuted(c, "mut-delete", r.throttleTimeMs!);
    await sleep(r.throttleTimeMs! + 100);
    const again = await deleteTopics(c, "mut-delete", ["dt-3"]);
    expect(codes(again.responses!)).toEqual([0]);
    await setQuota("mut-delete", null);
  });

  test("CreatePartitions v3: added partitions count; refused while negative, added after waiting; validateOnly takes nothing", async () => {
    await given([["cp-1", 1], ["cp-2", 1], ["cp-3", 1]]);
    await setQuota("mut-parts", 2);
    const c = await client();
    const v = await createPartitions(c, "mut-parts", [["cp-1", 100]], 3, true);
    expect(codes(v.results!)).toEqual([0]);
    // +3 each: 4 -> 1 -> -2, the third refused.
    const r = await createPartitions(c, "mut-parts", [["cp-1", 4], ["cp-2", 4], ["cp-3", 4]]);
    expect(codes(r.results!)).toEqual([0, 0, ErrorCode.THROTTLING_QUOTA_EXCEEDED]);
    expect(r.results![2].errorMessage).toBe(MESSAGE);
    expect(r.throttleTimeMs).toBeGreaterThan(0);
    await expectMuted(c, "mut-parts", r.throttleTimeMs!);
    const m = await admin.send(Metadata, 12, {
      topics: [{ topicId: ZERO, name: "cp-1" }, { topicId: ZERO, name: "cp-3" }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }, "admin");
    expect(m.topics!.map((t) => t.partitions!.length)).toEqual([4, 1]);
    await sleep(r.throttleTimeMs! + 100);
    const again = await createPartitions(c, "mut-parts", [["cp-3", 2]]);
    expect(codes(again.results!)).toEqual([0]);
    await setQuota("mut-parts", null);
  });

  test("a client without the quota is unaffected while another has one", async () => {
    await setQuota("mut-someone", 2);
    const c = await client();
    for (let round = 0; round < 2; round++) {
      const r = await createTopics(c, "mut-free", [[`free-${round}-1`, 5], [`free-${round}-2`, 5], [
        `free-${round}-3`,
        5,
      ]]);
      expect(codes(r.topics!)).toEqual([0, 0, 0]);
      expect(r.throttleTimeMs).toBe(0);
    }
    const d = await deleteTopics(c, "mut-free", ["free-0-1", "free-0-2", "free-0-3"]);
    expect(codes(d.responses!)).toEqual([0, 0, 0]);
    expect(d.throttleTimeMs).toBe(0);
    const p = await createPartitions(c, "mut-free", [["free-1-1", 20], ["free-1-2", 20]]);
    expect(codes(p.results!)).toEqual([0, 0]);
    expect(p.throttleTimeMs).toBe(0);
    await setQuota("mut-someone", null);
  });

  test("older versions (CreateTopics v5, DeleteTopics v4, CreatePartitions v2) are accepted and throttled", async () => {
    await given([["old-d1", 3], ["old-d2", 3], ["old-p1", 1], ["old-p2", 1]]);
    for (const id of ["mut-old-c", "mut-old-d", "mut-old-p"]) await setQuota(id, 2);

    const c = await client();
    const r = await createTopics(c, "mut-old-c", [["old-c1", 3], ["old-c2", 3], ["old-c3", 3]], 5);
    expect(codes(r.topics!)).toEqual([0, 0, 0]);
    expect(r.throttleTimeMs).toBeGreaterThan(0);
    await expectMuted(c, "mut-old-c", r.throttleTimeMs!);

    const d = await client();
    const dr = await deleteTopics(d, "mut-old-d", ["old-d1", "old-d2"], 4);
    expect(codes(dr.responses!)).toEqual([0, 0]);
    expect(dr.throttleTimeMs).toBeGreaterThan(0);
    await expectMuted(d, "mut-old-d", dr.throttleTimeMs!);

    const p = await client();
    const pr = await createPartitions(p, "mut-old-p", [["old-p1", 4], ["old-p2", 4]], 2);
    expect(codes(pr.results!)).toEqual([0, 0]);
    expect(pr.throttleTimeMs).toBeGreaterThan(0);
    await expectMuted(p, "mut-old-p", pr.throttleTimeMs!);

    for (const id of ["mut-old-c", "mut-old-d", "mut-old-p"]) await setQuota(id, null);
  });
});
