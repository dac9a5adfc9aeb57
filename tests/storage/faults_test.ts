// Storage faults through the broker's request path (issue #13): the broker runs in this process on
// the Bun runtime's real file system, wrapped by tests/helpers/faulty_fs.ts, and is driven over TCP.
// Checked: nothing is acknowledged that is not durable; a failed fsync takes the log dir offline and
// is never retried as if the data were safe; a full disk gives KAFKA_STORAGE_ERROR, reads go on and
// writes resume once space is freed; the metadata log, group offsets and transaction state likewise.
// docs/storage.md ("Failures") describes the semantics.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../adapters/bun.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { startBroker } from "../../src/broker/broker.ts";
import type { BrokerConfig } from "../../src/config.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { DescribeLogDirs } from "../../src/protocol/messages/35_describe_log_dirs.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import { SyncGroup } from "../../src/protocol/messages/14_sync_group.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { batchCrcValid, buildRecordBatch, decodeRecords } from "../../src/protocol/record_batch.ts";
import { type FaultyFs, faultyRuntime } from "../helpers/faulty_fs.ts";
import { httpBase } from "../helpers/http.ts";
import { fetchFrom } from "../helpers/read.ts";
import { eventually } from "../helpers/consume.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { producerStateOf } from "../../src/broker/txn/coordinator.ts";

const dec = new TextDecoder();
const tmp = mkdtempSync(`${tmpdir()}/chronik-faults-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;

type Running = { broker: Broker; c: WireClient; fs: FaultyFs; lines: string[]; dir: string };

async function start(dir = `${tmp}/${dirs++}`, config: Partial<BrokerConfig> = {}): Promise<Running> {
  const rt = faultyRuntime(bunRuntime);
  const broker = await startBroker(rt, {
    host: "127.0.0.1",
    port: 0,
    logLevel: "info",
    dataDir: dir,
    "group.initial.rebalance.delay.ms": 0,
    ...config,
  });
  const c = await WireClient.connect(broker.port);
  return { broker, c, fs: rt.fs, lines: rt.lines, dir };
}

async function stop(r: Running) {
  r.c.close();
  await r.broker.close();
}

async function createTopic(
  c: WireClient,
  name: string,
  partitions = 1,
  configs: Record<string, string> = {},
): Promise<{ errorCode: number }> {
  const r = await c.send(CreateTopics, 7, {
    topics: [{
      name,
      numPartitions: partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
    }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return { errorCode: r.topics![0].errorCode! };
}

const batch = (values: string[]) =>
  buildRecordBatch({ records: values.map((v, i) => ({ key: `k${i}`, value: v, timestamp: 1000 + i })) });

async function produce(c: WireClient, topic: string, values: string[], partition = 0, acks = -1) {
  const r = await c.send(Produce, 9, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: partition, records: batch(values) }] }],
  });
  const p = r.responses![0].partitionResponses![0];
  return { errorCode: p.errorCode!, baseOffset: p.baseOffset! };
}

/** Every record of a partition as "offset:value"; each served batch must be whole and pass its CRC. */
async function readAll(c: WireClient, topic: string, partition = 0): Promise<string[]> {
  const out: string[] = [];
  let offset = 0n;
  for (;;) {
    const p = await fetchFrom(c, topic, offset, partition);
    expect(p.errorCode).toBe(ErrorCode.NONE);
    const buf = p.records as Uint8Array | null;
    if (!buf || buf.length === 0) return out;
    let pos = 0;
    while (pos < buf.length) {
      const size = 12 + new DataView(buf.buffer, buf.byteOffset + pos).getInt32(8);
      const b = buf.subarray(pos, pos + size);
      expect(b.length).toBe(size);
      expect(batchCrcValid(b)).toBe(true);
      const d = decodeRecords(b);
      for (const r of d.records) out.push(`${r.offset}:${dec.decode(r.value!)}`);
      offset = d.baseOffset + BigInt(d.lastOffsetDelta) + 1n;
      pos += size;
    }
  }
}

async function commit(c: WireClient, group: string, topic: string, offset: bigint): Promise<number> {
  const r = await c.send(OffsetCommit, 2, {
    groupId: group,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{
      name: topic,
      topicId: ZERO_UUID,
      partitions: [{
        partitionIndex: 0,
        committedOffset: offset,
        committedLeaderEpoch: -1,
        commitTimestamp: -1n,
        committedMetadata: null,
      }],
    }],
  });
  return r.topics![0].partitions![0].errorCode!;
}

async function committed(c: WireClient, group: string, topic: string): Promise<bigint> {
  const r = await c.send(OffsetFetch, 2, {
    groupId: group,
    topics: [{ name: topic, partitionIndexes: [0] }],
    groups: [],
    requireStable: false,
  });
  return r.topics![0].partitions![0].committedOffset!;
}

const userTopics = (r: Running) =>
  [...r.broker.services.topics.list()].map((t) => t.name).filter((n) => !n.startsWith("__")).sort();
const offlineLines = (r: Running) => r.lines.filter((l) => l.includes("is offline"));

describe("a failed fsync takes the log dir offline (fsyncgate)", () => {
  test("the acks=all produce fails, later ones too even though the next fsync would succeed; restart recovers", async () => {
    let r = await start();
    await createTopic(r.c, "sync", 2);
    for (let i = 0; i < 3; i++) expect((await produce(r.c, "sync", [`a${i}`])).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(r.c, "sync", ["b0"], 1)).errorCode).toBe(ErrorCode.NONE);
    // One failed fsync, as Linux reports a writeback error: once. The next fsync would succeed.
    r.fs.inject({ path: /\/sync-0\/\d+\.log$/, op: "sync", fault: "EIO", times: 1 });
    expect((await produce(r.c, "sync", ["lost?"])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(r.fs.events.length).toBe(1);
    // Not retried as if the data were safe: the dir is offline, for every partition in it.
    expect((await produce(r.c, "sync", ["after"])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "sync", ["other"], 1)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "sync", ["acks1"], 1, 1)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // Consumers of its partitions get KAFKA_STORAGE_ERROR (nothing past the last good fsync is served),
    // with an empty record set.
    const f = await fetchFrom(r.c, "sync", 0n, 1);
    expect(f.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // DescribeLogDirs names the dir as offline, as Kafka does.
    const dirs = await r.c.send(DescribeLogDirs, 4, { topics: null });
    expect(dirs.results![0].errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(dirs.results![0].topics).toEqual([]);
    // What does not need the log dir goes on.
    const v = await r.c.send(ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    expect(v.errorCode).toBe(ErrorCode.NONE);
    // One clear line: what happened and how to recover.
    expect(offlineLines(r).length).toBe(1);
    expect(offlineLines(r)[0]).toContain("restart");
    expect(r.lines.filter((l) => l.startsWith("error")).length).toBe(1);
    await stop(r);
    // The disk is fixed (no more faults): a restart recovers from the last durable point.
    r = await start(r.dir);
    const p0 = await readAll(r.c, "sync", 0);
    expect(p0.slice(0, 3)).toEqual(["0:a0", "1:a1", "2:a2"]);
    // The batch whose fsync failed was never acknowledged: it may or may not be there, but nothing after it.
    expect(p0.length).toBeLessThanOrEqual(4);
    expect(await readAll(r.c, "sync", 1)).toEqual(["0:b0"]);
    const next = await produce(r.c, "sync", ["again"]);
    expect(next.errorCode).toBe(ErrorCode.NONE);
    expect(next.baseOffset).toBe(BigInt(p0.length));
    await stop(r);
  });

  test("EIO on a write (not a full disk) takes the dir offline as well; /ready says so", async () => {
    const r = await start(undefined, { "chronik.http.port": 0 });
    const base = await httpBase(() => r.lines.join("\n"));
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    await createTopic(r.c, "wio");
    expect((await produce(r.c, "wio", ["a"])).errorCode).toBe(ErrorCode.NONE);
    r.fs.inject({ path: "/wio-0/", op: "write", fault: "EIO", times: 1 });
    expect((await produce(r.c, "wio", ["b"])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "wio", ["c"])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(offlineLines(r).length).toBe(1);
    expect((await fetch(`${base}/ready`)).status).toBe(503);
    expect((await fetch(`${base}/health`)).status).toBe(200); // alive: serving what it can
    await stop(r);
  });

  test("a slow fsync delays the acks=all answer: nothing is acknowledged before it is on disk", async () => {
    const r = await start();
    await createTopic(r.c, "slow");
    r.fs.inject({ path: /\/slow-0\/\d+\.log$/, op: "sync", fault: "slow", delayMs: 300 });
    r.fs.trace = true;
    const acked = await produce(r.c, "slow", ["durable"]);
    expect(acked.errorCode).toBe(ErrorCode.NONE);
    const ops = r.fs.ops.filter((o) => o.path.includes("/slow-0/"));
    // Written, then synced, both before the answer arrived.
    expect(ops.map((o) => o.op)).toEqual(["wrote", "synced"]);
    // acks=1 does not wait for the disk (Kafka's acks=1): answered with no fsync of its own.
    r.fs.ops.length = 0;
    expect((await produce(r.c, "slow", ["fast"], 0, 1)).errorCode).toBe(ErrorCode.NONE);
    expect(r.fs.ops.filter((o) => o.op === "synced" && o.path.includes("/slow-0/")).length).toBe(0);
    r.fs.clear();
    await stop(r);
  });
});

describe("a full disk: KAFKA_STORAGE_ERROR, reads go on, writes resume once space is freed", () => {
  test("ENOSPC and short writes store nothing readable; offsets stay dense after space is freed", async () => {
    let r = await start();
    await createTopic(r.c, "full", 2);
    expect((await produce(r.c, "full", ["a", "b"])).errorCode).toBe(ErrorCode.NONE);
    const off = r.fs.inject({ path: /\/full-\d+\/\d+\.log$/, op: "write", fault: "ENOSPC" });
    expect((await produce(r.c, "full", ["x"])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "full", ["y"], 1)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    off();
    // The disk fills in the middle of a write: part of the batch lands, then ENOSPC.
    r.fs.inject({ path: /\/full-0\/\d+\.log$/, op: "write", fault: "short", bytes: 30, times: 1 });
    expect((await produce(r.c, "full", ["z".repeat(200)])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // Reads keep working and never see a partial batch.
    expect(await readAll(r.c, "full", 0)).toEqual(["0:a", "1:b"]);
    // One line for the episode, not one per request.
    expect(r.lines.filter((l) => l.includes("disk full")).length).toBe(1);
    expect(offlineLines(r).length).toBe(0);
    // Space freed: writes resume by themselves, at the next offset.
    expect((await produce(r.c, "full", ["c"])).baseOffset).toBe(2n);
    expect((await produce(r.c, "full", ["d"], 1)).baseOffset).toBe(0n);
    expect(r.lines.some((l) => l.includes("accepts writes again"))).toBe(true);
    expect(await readAll(r.c, "full", 0)).toEqual(["0:a", "1:b", "2:c"]);
    await stop(r);
    r = await start(r.dir);
    expect(await readAll(r.c, "full", 0)).toEqual(["0:a", "1:b", "2:c"]);
    expect(r.lines.some((l) => l.includes("truncating"))).toBe(false);
    await stop(r);
  });

  test("a full disk when a segment rolls: the append is refused, the next one rolls", async () => {
    const r = await start();
    // The smallest segment.bytes (Kafka 4: 1 MiB): two appends of 600 kB make a roll.
    expect((await createTopic(r.c, "roll", 1, { "segment.bytes": "1048576" })).errorCode).toBe(ErrorCode.NONE);
    const big = (c: string) => c.repeat(600_000);
    expect((await produce(r.c, "roll", [big("a")])).errorCode).toBe(ErrorCode.NONE);
    r.fs.inject({ path: /\/roll-0\/\d+\.log$/, op: "write", fault: "ENOSPC", times: 1 });
    expect((await produce(r.c, "roll", [big("b")])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "roll", ["c"])).baseOffset).toBe(1n);
    expect(await readAll(r.c, "roll")).toEqual([`0:${big("a")}`, "1:c"]);
    // The next segment's file cannot even be created: refused the same way, and the next append rolls.
    expect((await produce(r.c, "roll", [big("d")])).baseOffset).toBe(2n); // fits in segment 1
    r.fs.inject({ path: /\/roll-0\/0+3\.log$/, op: "open", fault: "ENOSPC", times: 1 });
    expect((await produce(r.c, "roll", [big("e")])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "roll", [big("f")])).baseOffset).toBe(3n);
    expect(await readAll(r.c, "roll")).toEqual([`0:${big("a")}`, "1:c", `2:${big("d")}`, `3:${big("f")}`]);
    expect(r.fs.events.map((e) => e.op)).toEqual(["write", "open"]);
    expect(offlineLines(r).length).toBe(0);
    await stop(r);
  });
});

describe("mkdir, rename and remove that fail", () => {
  test("a partition directory that cannot be made: CreateTopics is KAFKA_STORAGE_ERROR, nothing half-made", async () => {
    let r = await start();
    expect((await createTopic(r.c, "ok")).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(r.c, "ok", ["a"])).errorCode).toBe(ErrorCode.NONE);
    // Partition 0 is made, partition 1's directory is refused.
    r.fs.inject({ path: /\/nodir-1$/, op: "mkdir", fault: "EIO", times: 1 });
    const made = await r.c.send(CreateTopics, 7, {
      topics: [{ name: "nodir", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(made.topics![0].errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(made.topics![0].errorMessage).toContain("EIO");
    expect(r.lines.filter((l) => l.includes("nodir")).length).toBe(1);
    expect(r.broker.services.topics.get("nodir")).toBeUndefined();
    expect(existsSync(`${r.dir}/nodir-0`)).toBe(false); // the partition already made went with it
    // The rest keeps working; the dir is not offline; the same create succeeds once the disk does.
    expect((await produce(r.c, "ok", ["b"])).errorCode).toBe(ErrorCode.NONE);
    expect((await createTopic(r.c, "nodir", 3)).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(r.c, "nodir", ["n"], 2)).errorCode).toBe(ErrorCode.NONE);
    await stop(r);
    r = await start(r.dir);
    expect(userTopics(r)).toEqual(["nodir", "ok"]);
    expect(await readAll(r.c, "ok")).toEqual(["0:a", "1:b"]);
    expect(await readAll(r.c, "nodir", 2)).toEqual(["0:n"]);
    await stop(r);
  });

  test("a deleted topic's directory that cannot be moved or removed: deleted all the same, one line, a new topic of that name never reads the old records", async () => {
    let r = await start();
    await createTopic(r.c, "gone");
    await createTopic(r.c, "stays");
    expect((await produce(r.c, "gone", ["old"])).errorCode).toBe(ErrorCode.NONE);
    expect((await produce(r.c, "stays", ["s"])).errorCode).toBe(ErrorCode.NONE);
    const off = r.fs.inject({ path: /\/gone-0 -> /, op: "rename", fault: "EIO" });
    const d = await r.c.send(DeleteTopics, 4, { topicNames: ["gone"], topics: [], timeoutMs: 5000 });
    expect(d.responses![0].errorCode).toBe(ErrorCode.NONE);
    expect(r.lines.filter((l) => l.startsWith("error") && l.includes("gone-0")).length).toBe(1);
    // Created again while the old files are still in place: refused with a clear error, not given the old data.
    const again = await r.c.send(CreateTopics, 7, {
      topics: [{ name: "gone", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(again.topics![0].errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(again.topics![0].errorMessage).toContain("deleted partition gone-0");
    expect((await produce(r.c, "stays", ["t"])).errorCode).toBe(ErrorCode.NONE);
    off();
    // The disk recovers: the old directory goes aside, the new topic starts empty.
    expect((await createTopic(r.c, "gone")).errorCode).toBe(ErrorCode.NONE);
    expect(await readAll(r.c, "gone")).toEqual([]);
    // The aside directory cannot be removed: still deleted, one warning, nothing reads it.
    r.fs.inject({ path: /gone-0\.[0-9a-f]+-delete$/, op: "remove", fault: "EIO", times: 1 });
    const d2 = await r.c.send(DeleteTopics, 4, { topicNames: ["gone"], topics: [], timeoutMs: 5000 });
    expect(d2.responses![0].errorCode).toBe(ErrorCode.NONE);
    // The removal runs after the answer (the directory is out of the way by then).
    const warned = () => r.lines.filter((l) => l.startsWith("warn could not remove") && l.includes("-delete")).length;
    await eventually("the removal's warning", () => warned() > 0, 30_000);
    expect(warned()).toBe(1);
    expect((await createTopic(r.c, "gone")).errorCode).toBe(ErrorCode.NONE);
    expect(await readAll(r.c, "gone")).toEqual([]);
    await stop(r);
    r = await start(r.dir);
    expect(userTopics(r)).toEqual(["gone", "stays"]);
    expect(await readAll(r.c, "gone")).toEqual([]);
    expect(await readAll(r.c, "stays")).toEqual(["0:s", "1:t"]);
    await stop(r);
  });

  test("a failed rename while a rolled segment's recovery point is written: one line, dir offline, nothing acknowledged lost", async () => {
    let r = await start();
    expect((await createTopic(r.c, "rr", 1, { "segment.bytes": "1048576" })).errorCode).toBe(ErrorCode.NONE);
    const big = (c: string) => c.repeat(600_000);
    expect((await produce(r.c, "rr", [big("a")])).errorCode).toBe(ErrorCode.NONE);
    r.fs.inject({ path: /\/rr-0\/recovery-point/, op: "rename", fault: "EIO" });
    // This append rolls; the rolled segment's fsync is fine, the recovery point's rename is not. An acks=all
    // answer waits for the flushes before it, so the failure may reach this append or a later one.
    const acked = [big("a")];
    for (const v of [big("b"), "c", "d", "e"]) {
      const p = await produce(r.c, "rr", [v]);
      if (p.errorCode !== ErrorCode.NONE) {
        expect(p.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
        break;
      }
      acked.push(v);
    }
    expect((await produce(r.c, "rr", ["refused"])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(offlineLines(r).length).toBe(1);
    expect(offlineLines(r)[0]).toContain("recovery-point");
    expect(r.lines.filter((l) => l.startsWith("error")).length).toBe(1);
    // Other dirs' work (there is one dir here) and requests that need no disk go on.
    const v = await r.c.send(ApiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    expect(v.errorCode).toBe(ErrorCode.NONE);
    r.fs.clear();
    await stop(r);
    r = await start(r.dir);
    const all = await readAll(r.c, "rr");
    // Everything acknowledged is there, in order, at dense offsets; at most the one refused append besides.
    expect(all.slice(0, acked.length)).toEqual(acked.map((x, i) => `${i}:${x}`));
    expect(all.length).toBeLessThanOrEqual(acked.length + 1);
    expect((await produce(r.c, "rr", ["d"])).errorCode).toBe(ErrorCode.NONE);
    await stop(r);
  });
});

describe("metadata log, group offsets and transaction state", () => {
  test("CreateTopics and DeleteTopics (REST v3's and the console's too) on a full disk: KAFKA_STORAGE_ERROR, nothing changes", async () => {
    let r = await start(undefined, { "chronik.http.port": 0 });
    expect((await createTopic(r.c, "kept")).errorCode).toBe(ErrorCode.NONE);
    const off = r.fs.inject({ path: "__chronik_metadata/log", op: "write", fault: "ENOSPC" });
    expect((await createTopic(r.c, "nospace")).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    const d = await r.c.send(DeleteTopics, 4, { topicNames: ["kept"], topics: [], timeoutMs: 5000 });
    expect(d.responses![0].errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // The HTTP deletes share DeleteTopics' path (topic_admin.deleteTopic): the same error, the topic kept.
    const base = await httpBase(() => r.lines.join("\n"));
    const v3 = await fetch(`${base}/v3/clusters/${r.broker.services.clusterId}/topics/kept`, { method: "DELETE" });
    expect(v3.status).toBe(500);
    expect(((await v3.json()) as { message: string }).message).toContain("Could not delete topic kept");
    const ui = await fetch(`${base}/ui/api/topics/kept`, { method: "DELETE" });
    expect(ui.status).toBe(500);
    expect(((await ui.json()) as { error: string }).error).toContain("KAFKA_STORAGE_ERROR");
    expect(r.broker.services.topics.get("kept")).toBeDefined();
    expect(r.broker.services.topics.get("nospace")).toBeUndefined();
    expect((await produce(r.c, "kept", ["still"])).errorCode).toBe(ErrorCode.NONE);
    off();
    expect((await createTopic(r.c, "later")).errorCode).toBe(ErrorCode.NONE);
    await stop(r);
    r = await start(r.dir);
    expect(userTopics(r)).toEqual(["kept", "later"]);
    expect(await readAll(r.c, "kept")).toEqual(["0:still"]);
    await stop(r);
  });

  test("a failed fsync of the metadata log refuses every later change until restart", async () => {
    let r = await start();
    expect((await createTopic(r.c, "m1")).errorCode).toBe(ErrorCode.NONE);
    r.fs.inject({ path: "__chronik_metadata/log", op: "sync", fault: "EIO", times: 1 });
    expect((await createTopic(r.c, "m2")).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // The next fsync would succeed: not retried as if safe.
    expect((await createTopic(r.c, "m3")).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(r.lines.filter((l) => l.startsWith("error metadata log") && l.includes("is offline")).length).toBe(1);
    // The data plane is another matter: existing topics keep working.
    expect((await produce(r.c, "m1", ["x"])).errorCode).toBe(ErrorCode.NONE);
    await stop(r);
    r = await start(r.dir);
    expect(userTopics(r)).toEqual(["m1"]);
    expect((await createTopic(r.c, "m2")).errorCode).toBe(ErrorCode.NONE);
    await stop(r);
  });

  test("OffsetCommit that cannot be stored answers NOT_COORDINATOR; the committed offset stays; resumes after", async () => {
    let r = await start();
    await createTopic(r.c, "g");
    expect(await commit(r.c, "grp", "g", 5n)).toBe(ErrorCode.NONE);
    const off = r.fs.inject({ path: "/__consumer_offsets-", op: "write", fault: "ENOSPC" });
    expect(await commit(r.c, "grp", "g", 9n)).toBe(ErrorCode.NOT_COORDINATOR);
    expect(await committed(r.c, "grp", "g")).toBe(5n);
    off();
    expect(await commit(r.c, "grp", "g", 10n)).toBe(ErrorCode.NONE);
    // A commit is acknowledged only after its fsync (chronik.fsync.acks.all): a failed one is refused.
    r.fs.inject({ path: /\/__consumer_offsets-\d+\/\d+\.log$/, op: "sync", fault: "EIO", times: 1 });
    expect(await commit(r.c, "grp", "g", 11n)).toBe(ErrorCode.NOT_COORDINATOR);
    expect(await committed(r.c, "grp", "g")).toBe(10n);
    await stop(r);
    r = await start(r.dir);
    // Never backwards: the last acknowledged commit survived the restart.
    expect(await committed(r.c, "grp", "g")).toBeGreaterThanOrEqual(10n);
    await stop(r);
  });

  test("SyncGroup whose group record cannot be stored answers NOT_COORDINATOR, then the group forms", async () => {
    const r = await start();
    const join = (memberId: string) =>
      r.c.send(JoinGroup, 3, {
        groupId: "sg",
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId,
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [{ name: "range", metadata: new Uint8Array(0) }],
        reason: null,
      });
    const sync = (memberId: string, generationId: number) =>
      r.c.send(SyncGroup, 3, {
        groupId: "sg",
        generationId,
        memberId,
        groupInstanceId: null,
        protocolType: "consumer",
        protocolName: "range",
        assignments: [{ memberId, assignment: new Uint8Array([1]) }],
      });
    const off = r.fs.inject({ path: "/__consumer_offsets-", op: "write", fault: "ENOSPC" });
    const j = await join("");
    expect(j.errorCode).toBe(ErrorCode.NONE);
    expect((await sync(j.memberId!, j.generationId!)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    off();
    // The failed store started a rebalance: rejoin, and the group forms.
    const j2 = await join(j.memberId!);
    expect(j2.errorCode).toBe(ErrorCode.NONE);
    const s2 = await sync(j2.memberId!, j2.generationId!);
    expect(s2.errorCode).toBe(ErrorCode.NONE);
    expect([...s2.assignment!]).toEqual([1]);
    await stop(r);
  });

  test("transaction state that cannot be stored: InitProducerId and AddPartitionsToTxn answer an error and change nothing; markers are retried", async () => {
    const r = await start();
    const init = () => r.c.send(InitProducerId, 4, initProducerIdRequest("tx-1", 60000));
    // The first call creates __transaction_state; fail its writes once it exists.
    expect((await init()).errorCode).toBe(ErrorCode.NONE);
    const off = r.fs.inject({ path: "/__transaction_state-", op: "write", fault: "ENOSPC" });
    const failed = await init();
    expect(failed.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    off();
    const ok = await init();
    expect(ok.errorCode).toBe(ErrorCode.NONE);
    expect(ok.producerEpoch).toBe(1);
    // A partition is in the transaction only once that is stored: else the producer may not write to it.
    await createTopic(r.c, "txd");
    const add = () =>
      r.c.send(AddPartitionsToTxn, 3, {
        transactions: [],
        v3AndBelowTransactionalId: "tx-1",
        v3AndBelowProducerId: ok.producerId!,
        v3AndBelowProducerEpoch: ok.producerEpoch!,
        v3AndBelowTopics: [{ name: "txd", partitions: [0] }],
      }).then((x) => x.resultsByTopicV3AndBelow![0].resultsByPartition![0].partitionErrorCode);
    const off2 = r.fs.inject({ path: "/__transaction_state-", op: "write", fault: "ENOSPC" });
    expect(await add()).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(r.broker.services.txns.inTransaction(ok.producerId!, ok.producerEpoch!, "txd", 0)).toBe(false);
    off2();
    expect(await add()).toBe(ErrorCode.NONE);
    expect(r.broker.services.txns.inTransaction(ok.producerId!, ok.producerEpoch!, "txd", 0)).toBe(true);

    // A transactional batch, then EndTxn while the partition's disk is full: the outcome (PrepareCommit)
    // is stored and EndTxn answered; the marker waits, retried by the periodic check, as Kafka retries it.
    const txBatch = buildRecordBatch({
      producerId: ok.producerId!,
      producerEpoch: ok.producerEpoch!,
      baseSequence: 0,
      transactional: true,
      records: [{ key: "k", value: "in-txn", timestamp: 1000 }],
    });
    const pr = await r.c.send(Produce, 9, {
      transactionalId: "tx-1",
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: "txd", topicId: ZERO_UUID, partitionData: [{ index: 0, records: txBatch }] }],
    });
    expect(pr.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
    const off3 = r.fs.inject({ path: /\/txd-0\/\d+\.log$/, op: "write", fault: "ENOSPC" });
    const end = await r.c.send(EndTxn, 3, {
      transactionalId: "tx-1",
      producerId: ok.producerId!,
      producerEpoch: ok.producerEpoch!,
      committed: true,
    });
    expect(end.errorCode).toBe(ErrorCode.NONE);
    const txns = r.broker.services.txns;
    expect(txns.describe("tx-1")!.state).toBe("PrepareCommit");
    expect((await init()).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    await txns.abortExpired(); // the periodic check: still full
    expect(txns.describe("tx-1")!.state).toBe("PrepareCommit");
    off3();
    await txns.abortExpired();
    expect(txns.describe("tx-1")!.state).toBe("CompleteCommit");
    // The marker is in the log: the committed record and then the control batch.
    expect(r.broker.services.topics.get("txd")!.partitions[0].logEndOffset).toBe(2);
    expect((await init()).errorCode).toBe(ErrorCode.NONE);
    await stop(r);
  });

  test("a new producer incarnation while the old one's abort marker cannot be written: CONCURRENT_TRANSACTIONS until it is, never a transaction left open under the next one", async () => {
    const r = await start();
    const init = () => r.c.send(InitProducerId, 4, initProducerIdRequest("tx-2", 60000));
    const first = await init();
    expect(first.errorCode).toBe(ErrorCode.NONE);
    await createTopic(r.c, "txa");
    const add = await r.c.send(AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: "tx-2",
      v3AndBelowProducerId: first.producerId!,
      v3AndBelowProducerEpoch: first.producerEpoch!,
      v3AndBelowTopics: [{ name: "txa", partitions: [0] }],
    });
    expect(add.resultsByTopicV3AndBelow![0].resultsByPartition![0].partitionErrorCode).toBe(ErrorCode.NONE);
    const pr = await r.c.send(Produce, 9, {
      transactionalId: "tx-2",
      acks: -1,
      timeoutMs: 5000,
      topicData: [{
        name: "txa",
        topicId: ZERO_UUID,
        partitionData: [{
          index: 0,
          records: buildRecordBatch({
            producerId: first.producerId!,
            producerEpoch: first.producerEpoch!,
            baseSequence: 0,
            transactional: true,
            records: [{ key: "k", value: "left-open", timestamp: 1000 }],
          }),
        }],
      }],
    });
    expect(pr.responses![0].partitionResponses![0].errorCode).toBe(ErrorCode.NONE);
    // The producer restarts (as after its coordinator moved) while the partition cannot take the abort marker.
    const off = r.fs.inject({ path: /\/txa-0\/\d+\.log$/, op: "write", fault: "ENOSPC" });
    const txns = r.broker.services.txns;
    expect((await init()).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(txns.describe("tx-2")!.state).toBe("PrepareAbort");
    await txns.abortExpired(); // the periodic check: still full
    expect((await init()).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    off();
    await txns.abortExpired();
    expect(txns.describe("tx-2")!.state).toBe("CompleteAbort");
    const again = await init();
    expect(again.errorCode).toBe(ErrorCode.NONE);
    expect(again.producerEpoch).toBe(first.producerEpoch! + 1);
    // The marker is in the log after the record, which is aborted (read_committed skips it).
    const log = r.broker.services.topics.get("txa")!.partitions[0];
    expect(log.logEndOffset).toBe(2);
    expect(producerStateOf(log).abortedIn(0, 2)).toEqual([{
      producerId: first.producerId!,
      firstOffset: 0,
      lastOffset: 1,
    }]);
    await stop(r);
  });
});
