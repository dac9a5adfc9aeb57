// Issue #14 item 5, the review's gaps on the HTTP side, each with the attack:
// - a principal that may not describe a topic (or group) probes every HTTP route with an existing
//   name and a missing one: the answers must be the same (Kafka decides authorization on the name
//   first: TOPIC_AUTHORIZATION_FAILED whether or not the topic exists);
// - HTTP Basic costs one SCRAM derivation per mechanism whoever the user is (unknown users too), so
//   timing does not reveal which users exist (checked on the code path: no timed assertion);
// - REST consumer instances belong to the principal that created them (another one gets 40403, as
//   for an unknown instance) and ACLs are checked on every fetch and commit, so a revoked ACL takes
//   effect at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { AclOperation, ResourceType } from "../../src/broker/auth/acl.ts";
import { saltedPassword } from "../../src/broker/auth/sasl.ts";
import { basicPasswordOk, type Derive } from "../../src/http/security.ts";
import { allowAcl as bind } from "../helpers/acls.ts";
import { basicAuth, httpJson, saslHttpConfig, startHttpBroker } from "../helpers/http.ts";

const V2 = "application/vnd.kafka.v2+json";

let broker: Broker & { lines: string[] };
let base: string;
/** `method path` as `user` (HTTP Basic, password `<user>-pw`). */
const call = (user: string, method: string, path: string, body?: unknown, type?: string) =>
  httpJson(method, `${base}${path}`, body, { type, headers: { authorization: basicAuth(user, `${user}-pw`) } });

beforeAll(async () => {
  ({ broker, base } = await startHttpBroker({
    ...saslHttpConfig({ admin: "admin-pw", alice: "alice-pw", bob: "bob-pw" }),
    "group.initial.rebalance.delay.ms": 0,
  }));
  await broker.services.acls.create([
    bind("User:alice", AclOperation.READ, ResourceType.TOPIC, "pub"),
    bind("User:alice", AclOperation.WRITE, ResourceType.TOPIC, "pub"),
    bind("User:alice", AclOperation.READ, ResourceType.GROUP, "g1"),
    bind("User:alice", AclOperation.DESCRIBE, ResourceType.GROUP, "gmixed"),
    bind("User:bob", AclOperation.READ, ResourceType.TOPIC, "pub"),
    bind("User:bob", AclOperation.READ, ResourceType.GROUP, "g1"),
  ]);
  for (const name of ["pub", "secret"]) {
    expect((await call("admin", "POST", `/v1/topics/${name}/records`, { records: [{ value: 1 }] })).status).toBe(200);
  }
  // A group that exists (committed offsets), which alice may not describe; one she may, with
  // offsets of a topic she may describe and of one she may not.
  const commit = (groupId: string, topics: string[]) =>
    broker.services.groups.commitOffsets({
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: topics.map((name) => ({
        name,
        partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: "" }],
      })),
    });
  await commit("gsecret", ["secret"]);
  await commit("gmixed", ["pub", "secret"]);
});
afterAll(async () => {
  await broker.close();
});

describe("HTTP routes decide authorization before existence", () => {
  test("an existing topic or group the principal may not describe answers as a missing one", async () => {
    const v3 = `/v3/clusters/${broker.services.clusterId}`;
    const topicRoutes: [string, string, unknown?][] = [
      ["GET", "/v1/topics/{X}"],
      ["GET", "/v1/topics/{X}/partitions"],
      ["GET", "/v1/topics/{X}/partitions/0"],
      ["GET", "/v1/topics/{X}/partitions/0/records"],
      ["POST", "/v1/topics/{X}/records", { records: [{ value: 1 }] }],
      ["GET", "/topics/{X}"],
      ["POST", "/topics/{X}", { records: [{ value: 1 }] }],
      ["GET", `${v3}/topics/{X}`],
      ["GET", `${v3}/topics/{X}/partitions`],
      ["GET", `${v3}/topics/{X}/partitions/0`],
      ["GET", `${v3}/topics/{X}/configs`],
      ["POST", `${v3}/topics/{X}/records`, { value: { type: "JSON", data: 1 } }],
      ["DELETE", `${v3}/topics/{X}`],
      ["GET", "/ui/topics/{X}"],
      ["GET", "/ui/api/topics/{X}/partitions/0/offset?timestamp=0"],
      ["DELETE", "/ui/api/topics/{X}"],
    ];
    const groupRoutes: [string, string, unknown?][] = [
      ["GET", "/v1/groups/{X}"],
      ["GET", `${v3}/consumer-groups/{X}`],
      ["GET", `${v3}/consumer-groups/{X}/lags`],
      ["GET", "/ui/groups/{X}"],
    ];
    const probe = async (routes: [string, string, unknown?][], present: string, absent: string) => {
      for (const [method, path, body] of routes) {
        const hit = await call("alice", method, path.replace("{X}", present), body);
        const miss = await call("alice", method, path.replace("{X}", absent), body);
        expect({ path, status: hit.status }).toEqual({ path, status: 403 });
        expect({ path, status: miss.status, text: miss.text.replaceAll(absent, present) })
          .toEqual({ path, status: hit.status, text: hit.text });
        // The super user is told what is missing: the probe is not vacuous.
        if (method === "GET") {
          expect({ path, status: (await call("admin", method, path.replace("{X}", absent))).status })
            .toEqual({ path, status: 404 });
        }
      }
    };
    await probe(topicRoutes, "secret", "nosuch");
    await probe(groupRoutes, "gsecret", "nogroup");
    // Nothing was created or deleted by the probes.
    expect(broker.services.topics.get("nosuch")).toBeUndefined();
    expect(broker.services.topics.get("secret")).toBeDefined();
  }, 30_000);

  test("a group's offsets leave out the topics the principal may not describe", async () => {
    const v3 = `/v3/clusters/${broker.services.clusterId}/consumer-groups/gmixed`;
    for (const path of ["/v1/groups/gmixed", `${v3}/lags`, "/ui/groups/gmixed"]) {
      const alice = await call("alice", "GET", path);
      expect({ path, status: alice.status }).toEqual({ path, status: 200 });
      expect(alice.text).toContain("pub");
      expect({ path, leaks: alice.text.includes("secret") }).toEqual({ path, leaks: false });
      expect((await call("admin", "GET", path)).text).toContain("secret");
    }
    expect((await call("alice", "GET", `${v3}/lags/secret/partitions/0`)).status).toBe(404);
  });
});

describe("HTTP Basic costs the same for unknown users", () => {
  test("one SCRAM derivation per mechanism, whoever the user is", async () => {
    const auth = broker.services.auth;
    const attempt = async (user: string, password: string) => {
      let derivations = 0;
      const derive: Derive = (...args) => {
        derivations++;
        return saltedPassword(...args);
      };
      const ok = await basicPasswordOk(auth, user, password, derive);
      return { ok, derivations };
    };
    expect(await attempt("carol", "carol-pw")).toEqual({ ok: true, derivations: 2 }); // SCRAM user
    expect(await attempt("carol", "wrong")).toEqual({ ok: false, derivations: 2 });
    expect(await attempt("alice", "alice-pw")).toEqual({ ok: true, derivations: 2 }); // PLAIN user
    expect(await attempt("alice", "wrong")).toEqual({ ok: false, derivations: 2 });
    expect(await attempt("nobody", "wrong")).toEqual({ ok: false, derivations: 2 }); // the attack
    expect(await attempt("nobody", "")).toEqual({ ok: false, derivations: 2 });
    // Over HTTP an unknown user and a wrong password get the same answer.
    const r = (auth: string) => fetch(`${base}/v1/topics`, { headers: { authorization: `Basic ${btoa(auth)}` } });
    const unknown = await r("nobody:x");
    const wrong = await r("carol:x");
    expect([unknown.status, await unknown.text()]).toEqual([wrong.status, await wrong.text()]);
  });
});

describe("REST consumer instances", () => {
  test("belong to their creator and check ACLs on every fetch and commit", async () => {
    const made = await call("alice", "POST", "/consumers/g1", { name: "a1", "auto.offset.reset": "earliest" }, V2);
    expect(made.status).toBe(200);
    const a1 = "/consumers/g1/instances/a1";
    expect((await call("alice", "POST", `${a1}/subscription`, { topics: ["pub"] }, V2)).status).toBe(204);
    let first = await call("alice", "GET", `${a1}/records?timeout=200`);
    for (let i = 0; i < 20 && first.text === "[]"; i++) first = await call("alice", "GET", `${a1}/records?timeout=200`);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text).length).toBe(1);

    // Bob may read the same group and topic, but not through alice's instance: it does not exist for him.
    const notFound = await call("bob", "GET", "/consumers/g1/instances/nosuch/records");
    expect(notFound.status).toBe(404);
    for (
      const [method, path, body] of [
        ["GET", `${a1}/records`],
        ["GET", `${a1}/subscription`],
        ["GET", `${a1}/assignments`],
        ["POST", `${a1}/offsets`, {}],
        ["POST", `${a1}/positions/beginning`, { partitions: [{ topic: "pub", partition: 0 }] }],
        ["POST", `${a1}/subscription`, { topics: ["pub"] }],
        ["DELETE", a1],
      ] as [string, string, unknown?][]
    ) {
      const r = await call("bob", method, path, body, V2);
      expect({ path, method, status: r.status, text: r.text }).toEqual({
        path,
        method,
        status: 404,
        text: notFound.text,
      });
    }
    expect(JSON.parse(notFound.text).error_code).toBe(40403);

    // Alice loses READ on the topic: the next fetch, commit and seek are refused.
    const topicRead = bind("User:alice", AclOperation.READ, ResourceType.TOPIC, "pub");
    await broker.services.acls.delete([topicRead]);
    const denied = await call("alice", "GET", `${a1}/records`);
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text).error_code).toBe(40301);
    expect((await call("alice", "POST", `${a1}/offsets`, {}, V2)).status).toBe(403);
    const seek = { partitions: [{ topic: "pub", partition: 0 }] };
    expect((await call("alice", "POST", `${a1}/positions/beginning`, seek, V2)).status).toBe(403);

    // Back with READ on the topic, without READ on the group: refused too.
    await broker.services.acls.create([topicRead]);
    expect((await call("alice", "GET", `${a1}/records`)).status).toBe(200);
    await broker.services.acls.delete([bind("User:alice", AclOperation.READ, ResourceType.GROUP, "g1")]);
    const noGroup = await call("alice", "GET", `${a1}/records`);
    expect(noGroup.status).toBe(403);
    expect(noGroup.text).toContain("group");
    expect((await call("alice", "POST", `${a1}/offsets`, {}, V2)).status).toBe(403);
    // Her instance can still be deleted by her.
    expect((await call("alice", "DELETE", a1)).status).toBe(204);
  }, 30_000);
});
