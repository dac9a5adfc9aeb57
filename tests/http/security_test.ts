// The HTTP side behind SASL listeners (issue #14 item 5), each attack as the probe made it: a
// cross-site text/plain write, unauthenticated reads of topics, groups and /metrics, a foreign Host
// header (DNS rebinding); then HTTP Basic with PLAIN and SCRAM users, and the broker's ACLs applied
// to what each principal sees and writes, on the REST proxy, the views and the schema registry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { AclOperation, ResourceType } from "../../src/broker/auth/acl.ts";
import { allowAcl } from "../helpers/acls.ts";
import { basicAuth as basic, saslHttpConfig, startHttpBroker } from "../helpers/http.ts";

let broker: Broker & { lines: string[] };
let base: string;

beforeAll(async () => {
  ({ broker, base } = await startHttpBroker(saslHttpConfig({ admin: "admin-pw", alice: "alice-pw" })));
  await broker.services.acls.create([
    allowAcl("User:alice", AclOperation.DESCRIBE, ResourceType.TOPIC, "pub"),
    allowAcl("User:alice", AclOperation.WRITE, ResourceType.TOPIC, "pub"),
    allowAcl("User:carol", AclOperation.DESCRIBE, ResourceType.CLUSTER, "kafka-cluster"),
  ]);
  for (const name of ["pub", "secret"]) {
    const r = await fetch(`${base}/v1/topics/${name}/records`, {
      method: "POST",
      headers: { authorization: basic("admin", "admin-pw"), "content-type": "application/json" },
      body: JSON.stringify({ records: [{ value: { n: 1 } }] }),
    });
    expect(r.status).toBe(200);
  }
});
afterAll(async () => {
  await broker.close();
});

describe("HTTP side security", () => {
  test("a cross-site text/plain write is refused and stores nothing", async () => {
    const r = await fetch(`${base}/v1/topics/victim/records`, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: "http://evil.example" },
      body: JSON.stringify({ records: [{ value: "x" }] }),
    });
    expect(r.status).toBe(403);
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    const plain = await fetch(`${base}/v1/topics/victim/records`, {
      method: "POST",
      headers: { "content-type": "text/plain", authorization: basic("admin", "admin-pw") },
      body: JSON.stringify({ records: [{ value: "x" }] }),
    });
    expect(plain.status).toBe(415);
    expect(broker.services.topics.get("victim")).toBeUndefined();
  });

  test("nothing but health and readiness answers without credentials", async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    for (const path of ["/v1/topics", "/v1/topics/secret", "/v1/groups", "/metrics", "/subjects"]) {
      const r = await fetch(`${base}${path}`);
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toContain("Basic");
    }
    expect((await fetch(`${base}/v1/topics`, { headers: { authorization: basic("alice", "wrong") } })).status)
      .toBe(401);
  });

  test("a foreign Host header is refused (DNS rebinding)", async () => {
    const r = await fetch(`${base}/health`, { headers: { host: "evil.example" } });
    expect(r.status).toBe(403);
  });

  test("PLAIN and SCRAM users authenticate; ACLs decide what each sees and writes", async () => {
    const get = (path: string, user: string, pw: string) =>
      fetch(`${base}${path}`, { headers: { authorization: basic(user, pw) } });
    const aliceTopics = await (await get("/v1/topics", "alice", "alice-pw")).json();
    expect(aliceTopics.map((t: { name: string }) => t.name)).toEqual(["pub"]);
    expect((await get("/v1/topics/secret", "alice", "alice-pw")).status).toBe(403); // as for a missing one
    expect((await get("/metrics", "alice", "alice-pw")).status).toBe(403);
    expect((await get("/metrics", "carol", "carol-pw")).status).toBe(200); // SCRAM user with cluster DESCRIBE
    expect((await get("/metrics", "carol", "nope")).status).toBe(401);
    const write = (topic: string) =>
      fetch(`${base}/v1/topics/${topic}/records`, {
        method: "POST",
        headers: { authorization: basic("alice", "alice-pw"), "content-type": "application/json" },
        body: JSON.stringify({ records: [{ value: 1 }] }),
      });
    expect((await write("pub")).status).toBe(200);
    expect((await write("secret")).status).toBe(403);
    // The schema registry: alice may read, not register; the super user may.
    const register = (user: string, pw: string) =>
      fetch(`${base}/subjects/s-value/versions`, {
        method: "POST",
        headers: { authorization: basic(user, pw), "content-type": "application/vnd.schemaregistry.v1+json" },
        body: JSON.stringify({ schema: '"string"' }),
      });
    expect((await register("alice", "alice-pw")).status).toBe(403);
    expect((await register("admin", "admin-pw")).status).toBe(200);
    expect((await get("/subjects", "alice", "alice-pw")).status).toBe(200);
  });
});
