// Request bodies through each runtime's HTTP server: the REST v3 streaming produce answers each group
// of records before the next is sent (Bun.serve, and node:http through the Node adapter, which streams
// the body into the Web Request; Deno.serve stops reading a body still arriving once the response has
// started, see docs/http.md), and Confluent's `GET …/offsets` with its partitions in a GET body is
// honoured under Node (the adapter hands the body to the handler; Bun.serve and Deno.serve drop GET bodies).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrokerProcess } from "../e2e/harness.ts";
import { startBrokerProcess } from "../e2e/harness.ts";
import { chunkedUpload } from "../helpers/chunked_upload.ts";
import { httpBase, httpJson } from "../helpers/http.ts";

const V2 = "application/vnd.kafka.v2+json";

describe.each(["bun", "deno", "node"] as const)("HTTP request bodies under %s", (kind) => {
  let b: BrokerProcess;
  let base = "";
  let v3 = "";
  const call = (method: string, path: string, body?: unknown, type = "application/json") =>
    httpJson(method, `${base}${path}`, body, { type });
  beforeAll(async () => {
    b = await startBrokerProcess(kind, ["--http-port", "0"]);
    base = await httpBase(() => b.logs());
    const clusters = await call("GET", "/v3/clusters");
    v3 = `/v3/clusters/${(clusters.json.data as { cluster_id: string }[])[0].cluster_id}`;
    expect((await call("POST", `${v3}/topics`, { topic_name: "bodies", partitions_count: 2 })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
  });

  test.skipIf(kind === "deno")(
    "v3 streaming produce: each group's results arrive before the next group is sent",
    async () => {
      const rec = (v: string) => `{"partition_id":0,"value":{"type":"STRING","data":"${v}"}}\n`;
      const up = chunkedUpload(`${base}${v3}/topics/bodies/records`);
      up.send(rec("s1") + rec("s2"));
      await up.until(2);
      expect(up.raw()).toStartWith("HTTP/1.1 200");
      up.send(rec("s3"));
      await up.until(3);
      up.send(rec("s4") + rec("s5"));
      await up.until(5);
      await up.end();
      expect(up.results().map((l) => JSON.parse(l).offset)).toEqual([0, 1, 2, 3, 4]);
    },
    60_000,
  );

  test("GET offsets reads the partitions from the GET body (Node) or answers the assignment (Bun, Deno)", async () => {
    const made = await call("POST", "/consumers/gbody", { name: "c1", format: "json" }, V2);
    expect(made.status).toBe(200);
    const inst = "/consumers/gbody/instances/c1";
    expect((await call("POST", `${inst}/assignments`, { partitions: [{ topic: "bodies", partition: 0 }] }, V2)).status)
      .toBe(204);
    const commit = { offsets: [{ topic: "bodies", partition: 0, offset: 2 }] };
    expect((await call("POST", `${inst}/offsets`, commit, V2)).status).toBe(204);
    const curl = Bun.spawn([
      "curl",
      "-sS",
      "-X",
      "GET",
      "-H",
      `Content-Type: ${V2}`,
      "--data",
      JSON.stringify({ partitions: [{ topic: "bodies", partition: 1 }] }),
      `${base}${inst}/offsets`,
    ], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(curl.stdout).text(), curl.exited]);
    expect(code).toBe(0);
    const offsets = (JSON.parse(out) as { offsets: { partition: number; offset: number }[] }).offsets;
    expect(offsets.map((o) => [o.partition, o.offset])).toEqual(kind === "node" ? [[1, -1]] : [[0, 3]]);
    expect((await call("DELETE", inst, undefined)).status).toBe(204);
  }, 60_000);
});
