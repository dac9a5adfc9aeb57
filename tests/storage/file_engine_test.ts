// File-engine specifics over the memory FileSystem: restart from indexes, index rebuilds, torn and
// corrupt tails, group commit, power loss, offset limits, and the metadata store.
import { describe, expect, test } from "bun:test";
import { memoryFileSystem } from "../../src/runtime/memory.ts";
import type { MemoryFileSystem } from "../../src/runtime/memory.ts";
import { openFileLogStore, STATE_FILE } from "../../src/storage/file.ts";
import { openMetadataStore } from "../../src/storage/metadata.ts";
import { appendValues, makeAppend, readAll } from "./contract.ts";

const small = { "segment.bytes": "600", "index.interval.bytes": "100", "file.delete.delay.ms": "0" } as Record<
  string,
  string
>;
const open = (fs: MemoryFileSystem, cfg: Record<string, string> = small) =>
  openFileLogStore(fs, "/data", { topicConfig: (_t, n) => cfg[n] });
const enc = new TextEncoder();

async function fill(fs: MemoryFileSystem, n: number) {
  const s = await open(fs);
  const log = await s.open("t", 0);
  for (let i = 0; i < n; i++) await appendValues(log, [`v${i}`, `w${i}`], [5000 + i, 5000 + i]);
  const before = await readAll(log);
  await s.close();
  return before;
}

describe("file engine", () => {
  test("a clean restart trusts the indexes: nothing is scanned, everything reads back", async () => {
    const fs = memoryFileSystem();
    const before = await fill(fs, 40);
    const segs = (await fs.list("/data/t-0")).filter((f) => f.name.endsWith(".log"));
    expect(segs.length).toBeGreaterThan(3);
    const s = await open(fs);
    const log = await s.open("t", 0);
    expect(s.stats.cleanStart).toBe(true);
    expect(s.stats.recoveredPartitions).toBe(0);
    expect(s.stats.indexRebuilds).toBe(0);
    expect(await readAll(log)).toEqual(before);
    expect((await log.batchForTimestamp(5020))!.baseOffset).toBe(40);
    expect((await appendValues(log, ["next"])).baseOffset).toBe(80);
    await s.close();
  });

  test("missing or stale index files are rebuilt from the log", async () => {
    const fs = memoryFileSystem();
    const before = await fill(fs, 40);
    const idx = (await fs.list("/data/t-0")).filter((f) => f.name.endsWith(".index")).map((f) => f.name);
    await fs.remove(`/data/t-0/${idx[0]}`);
    await fs.writeFileAtomic(`/data/t-0/${idx[1]}`, new Uint8Array([0, 0, 0, 9, 0, 0, 0x7f, 0])); // points past the log
    await fs.writeFileAtomic(`/data/t-0/${idx.at(-1)}`, new Uint8Array([1, 2, 3])); // torn
    const s = await open(fs);
    const log = await s.open("t", 0);
    expect(s.stats.indexRebuilds).toBe(3);
    expect(await readAll(log)).toEqual(before);
    for (let i = 0; i < 40; i += 7) expect((await log.batchForTimestamp(5000 + i))!.baseOffset).toBe(2 * i);
    expect((await fs.readFile(`/data/t-0/${idx[0]}`))!.length).toBeGreaterThan(0);
    await s.close();
  });

  test("unclean start: the active segment is scanned; a corrupt batch and everything after it is truncated", async () => {
    const fs = memoryFileSystem();
    const s0 = await open(fs, {});
    const log0 = await s0.open("t", 0);
    for (let i = 0; i < 10; i++) await appendValues(log0, [`v${i}`]);
    await s0.close();
    await fs.writeFileAtomic(`/data/${STATE_FILE}`, enc.encode(JSON.stringify({ clean: false })));
    const path = "/data/t-0/00000000000000000000.log";
    const h = await fs.open(path);
    const size = await h.size();
    const one = size / 10;
    await h.write(one * 6 + 40, new Uint8Array([0xff])); // flip a byte inside batch 6
    await h.close();
    const s = await open(fs, {});
    const log = await s.open("t", 0);
    expect(s.stats.truncations).toBe(1);
    expect(s.stats.truncatedBytes).toBe(one * 4);
    expect(log.logEndOffset).toBe(6);
    expect(await readAll(log)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${i}:v${i}`));
    expect((await appendValues(log, ["new"])).baseOffset).toBe(6);
    await s.close();
  });

  test("group commit: durable appends across partitions share fsync rounds", async () => {
    const fs = memoryFileSystem();
    const s = await open(fs, {});
    const logs = await Promise.all(Array.from({ length: 10 }, (_, p) => s.open("g", p)));
    const syncsBefore = fs.calls.sync ?? 0;
    const ps = [];
    for (let i = 0; i < 20; i++) {
      for (const log of logs) {
        const { buf, metas } = makeAppend([{ values: [`x${i}`] }]);
        ps.push(log.append(buf, metas, { durable: true }));
      }
    }
    await Promise.all(ps);
    expect(s.commit.rounds).toBeLessThan(200 / 5);
    expect((fs.calls.sync ?? 0) - syncsBefore).toBeLessThan(200 / 2);
    await s.close();
  });

  test("power loss: durable appends survive, the rest may go, the log stays consistent", async () => {
    const fs = memoryFileSystem();
    const s = await open(fs, {});
    const log = await s.open("p", 0);
    for (let i = 0; i < 10; i++) {
      const { buf, metas } = makeAppend([{ values: [`d${i}`] }]);
      await log.append(buf, metas, { durable: true });
    }
    for (let i = 0; i < 5; i++) await appendValues(log, [`n${i}`]);
    fs.crash();
    const s2 = await open(fs, {});
    const log2 = await s2.open("p", 0);
    expect(s2.stats.cleanStart).toBe(false);
    const got = await readAll(log2);
    expect(got.slice(0, 10)).toEqual([...Array(10).keys()].map((i) => `${i}:d${i}`));
    expect(log2.logEndOffset).toBe(got.length);
    await s2.close();
  });

  test("a roll does not wait for the old segment's fsync; a durable append does", async () => {
    const fs = memoryFileSystem();
    const s = await open(fs);
    const log = await s.open("r", 0);
    const release = fs.holdSyncs(/\.log$/);
    // Every append here rolls (600-byte segments): each would wait for the held sync if a roll did.
    for (let i = 0; i < 20; i++) await appendValues(log, [`v${i}`.padEnd(300, ".")]);
    expect((await fs.list("/data/r-0")).filter((f) => f.name.endsWith(".log")).length).toBeGreaterThan(10);
    expect(await fs.readFile("/data/r-0/recovery-point")).toBeNull();
    const { buf, metas } = makeAppend([{ values: ["durable"] }]);
    let acked = false;
    const durable = log.append(buf, metas, { durable: true }).then((r) => ((acked = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(acked).toBe(false); // the rolled segments before it are not on disk yet
    release();
    expect((await durable).baseOffset).toBe(20);
    const point = Number(new TextDecoder().decode((await fs.readFile("/data/r-0/recovery-point"))!));
    expect(point).toBe(20); // the durable append rolled too: the base of the segment it went into
    expect(await readAll(log)).toHaveLength(21);
    await s.close();
  });

  test("power loss with rolled segments not yet flushed: they are scanned from the recovery point", async () => {
    const fs = memoryFileSystem();
    const cfg = { ...small, "segment.bytes": "3000" };
    const s0 = await open(fs, cfg);
    const log0 = await s0.open("q", 0);
    for (let i = 0; i < 12; i++) await appendValues(log0, [`a${i}`.padEnd(200, ".")]);
    await s0.close(); // clean: the active segment's indexes are written, as they are at every shutdown
    const logs = async () =>
      (await fs.list("/data/q-0")).filter((f) => f.name.endsWith(".log")).map((f) => f.name).sort();
    const activeAtStop = (await logs()).at(-1)!;
    const s1 = await open(fs, cfg);
    const log1 = await s1.open("q", 0);
    const release = fs.holdSyncs(/\.log$/);
    for (let i = 0; i < 12; i++) await appendValues(log1, [`b${i}`.padEnd(200, ".")]);
    expect((await logs()).at(-1)).not.toBe(activeAtStop); // it rolled since
    fs.crash();
    release();
    // The segment active at the clean stop rolled unflushed: its index files on disk are the stale,
    // plausible ones of that stop. Give it a torn tail, as a crash mid-writeback can leave.
    expect(await fs.readFile(`/data/q-0/${activeAtStop.replace(".log", ".index")}`)).not.toBeNull();
    const h = await fs.open(`/data/q-0/${activeAtStop}`);
    await h.append(new Uint8Array(40).fill(7));
    await h.close();
    const s2 = await open(fs, cfg);
    const log2 = await s2.open("q", 0);
    expect(s2.stats.cleanStart).toBe(false);
    expect(s2.stats.truncations).toBeGreaterThanOrEqual(1);
    const got = await readAll(log2);
    expect(got.slice(0, 12)).toEqual([...Array(12).keys()].map((i) => `${i}:${`a${i}`.padEnd(200, ".")}`));
    for (const line of got) expect(line).toMatch(/^\d+:[ab]\d+\.+$/);
    expect(Number(new TextDecoder().decode((await fs.readFile("/data/q-0/recovery-point"))!))).toBeGreaterThan(0);
    await s2.close();
  });

  test("offsets stop at 2^53 - 1: an append past it is refused, not truncated", async () => {
    const fs = memoryFileSystem();
    await fs.mkdir("/data/big-0");
    await fs.writeFileAtomic("/data/big-0/log-start-offset", enc.encode(String(Number.MAX_SAFE_INTEGER - 1)));
    const s = await open(fs, {});
    const log = await s.open("big", 0);
    expect(log.logEndOffset).toBe(Number.MAX_SAFE_INTEGER - 1);
    await expect(appendValues(log, ["a", "b", "c"])).rejects.toThrow(RangeError);
    expect((await appendValues(log, ["a", "b"])).lastOffset).toBe(Number.MAX_SAFE_INTEGER);
    await s.close();
  });

  test("an interrupted compaction swap is finished at start; a half-written cleaned file is dropped", async () => {
    const fs = memoryFileSystem();
    const before = await fill(fs, 40);
    const logs = (await fs.list("/data/t-0")).filter((f) => f.name.endsWith(".log")).map((f) => f.name);
    const first = logs[0];
    const copy = (await fs.readFile(`/data/t-0/${first}`))!;
    await fs.writeFileAtomic(`/data/t-0/${first}.swap`, copy);
    await fs.writeFileAtomic(`/data/t-0/${logs[1]}.cleaned`, new Uint8Array([1, 2, 3]));
    const s = await open(fs);
    const log = await s.open("t", 0);
    expect(await readAll(log)).toEqual(before);
    const names = (await fs.list("/data/t-0")).map((f) => f.name);
    expect(names.some((n) => n.endsWith(".swap") || n.endsWith(".cleaned"))).toBe(false);
    await s.close();
  });

  test("a deleted partition's directory left renamed aside by a crash is removed at start; nothing else is", async () => {
    const fs = memoryFileSystem();
    await fill(fs, 3);
    const aside = "/data/gone-0.0123456789abcdef0123456789abcdef-delete";
    await fs.mkdir(aside);
    await fs.writeFileAtomic(`${aside}/00000000000000000000.log`, new Uint8Array([1, 2, 3]));
    await fs.mkdir("/data/mine-delete"); // not a name the engine makes
    await fs.mkdir("/data/x-0.notours-delete");
    const lines: string[] = [];
    const s = await openFileLogStore(fs, "/data", {
      topicConfig: (_t, n) => small[n],
      log: (level, message) => lines.push(`${level} ${message}`),
    });
    const names = (await fs.list("/data")).map((e) => e.name);
    expect(names).not.toContain("gone-0.0123456789abcdef0123456789abcdef-delete");
    expect(names).toContain("mine-delete");
    expect(names).toContain("x-0.notours-delete");
    expect(names).toContain("t-0");
    expect(lines.filter((l) => l.includes("-delete"))).toHaveLength(1);
    expect((await readAll(await s.open("t", 0))).length).toBe(6);
    await s.close();
  });

  test("a topic created again while the old one's partitions are being removed never gets an old partition", async () => {
    const fs = memoryFileSystem();
    const s = await open(fs);
    for (const p of [0, 1]) await appendValues(await s.open("t", p), [`old${p}`]);
    // DeleteTopics then CreateTopics of the same name: the new topic opens partition 1 while partition 0 goes.
    const removed = s.remove("t", 2);
    const reopened = s.open("t", 1);
    await removed;
    const log = await reopened;
    expect(await readAll(log)).toEqual([]);
    expect((await appendValues(log, ["new"])).baseOffset).toBe(0);
    expect(await readAll(log)).toEqual(["0:new"]);
    await s.close();
  });
});

describe("metadata store", () => {
  test("replays topics and the cluster id; a torn tail is truncated", async () => {
    const fs = memoryFileSystem();
    let m = await openMetadataStore(fs, "/d");
    await m.setClusterId("cid");
    await m.putTopic({ name: "a", id: "ida", partitions: 2, configs: { "retention.ms": "5" } });
    await m.putTopic({ name: "b", id: "idb", partitions: 1, configs: {} });
    await m.putTopic({ name: "a", id: "ida", partitions: 4, configs: {} });
    await m.deleteTopic("b");
    await m.close();
    const h = await fs.open("/d/__chronik_metadata/log");
    await h.append(new Uint8Array([0, 0, 0, 50, 1, 2, 3]));
    await h.close();
    const lines: string[] = [];
    m = await openMetadataStore(fs, "/d", (_l, msg) => lines.push(msg));
    expect(m.clusterId).toBe("cid");
    expect(m.topics()).toEqual([{ name: "a", id: "ida", partitions: 4, configs: {} }]);
    expect(lines.some((l) => l.includes("torn or corrupt tail"))).toBe(true);
    await m.putTopic({ name: "c", id: "idc", partitions: 1, configs: {} });
    await m.close();
    m = await openMetadataStore(fs, "/d");
    expect(m.topics().map((t) => t.name)).toEqual(["a", "c"]);
    await m.close();
  });

  test("snapshots every 1000 records; a crash between snapshot and log reset replays nothing twice", async () => {
    const fs = memoryFileSystem();
    let m = await openMetadataStore(fs, "/d");
    for (let i = 0; i < 1005; i++) {
      await m.putTopic({ name: `t${i % 50}`, id: `id${i % 50}`, partitions: i, configs: {} });
    }
    await m.deleteTopic("t0");
    await m.close();
    expect(await fs.readFile("/d/__chronik_metadata/snapshot.json")).not.toBeNull();
    m = await openMetadataStore(fs, "/d");
    const ts = m.topics();
    expect(ts.length).toBe(49);
    expect(ts.find((t) => t.name === "t4")!.partitions).toBe(1004);
    await m.close();
  });
});
