// The metadata log's group commit (src/storage/metadata.ts): changes asked for while the log is busy
// go to disk together, one append and one fsync, on the Bun runtime's real file system (wrapped by
// tests/helpers/faulty_fs.ts to count fsyncs and inject faults). One fsync per change queued a burst of
// topic creations behind each other: under load, Metadata requests auto-creating topics and
// DeleteTopics went unanswered for a minute (the schema fuzz, file broker).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../adapters/bun.ts";
import { openMetadataStore } from "../../src/storage/metadata.ts";
import { faultyFs } from "../helpers/faulty_fs.ts";

const tmp = mkdtempSync(`${tmpdir()}/chronik-metagc-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const LOG = "__chronik_metadata/log";
const topic = (name: string, partitions = 1) => ({ name, id: `id-${name}`, partitions, configs: {} });

describe("metadata log group commit", () => {
  test("200 changes asked for together take one fsync; all are applied in order and replayed", async () => {
    const dir = `${tmp}/${n++}`;
    const fs = faultyFs(bunRuntime.fs);
    const m = await openMetadataStore(fs, dir);
    fs.trace = true;
    const changes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) changes.push(m.putTopic(topic(`t${i}`)));
    // In one batch: a topic created then deleted, and one created twice (the later wins).
    changes.push(m.putTopic(topic("gone")), m.deleteTopic("gone"));
    changes.push(m.putTopic(topic("twice", 1)), m.putTopic(topic("twice", 3)));
    await Promise.all(changes);
    const syncs = fs.ops.filter((o) => o.op === "synced" && o.path.endsWith(LOG)).length;
    expect(syncs).toBe(1);
    const names = m.topics().map((t) => t.name);
    expect(names.length).toBe(201);
    expect(names).not.toContain("gone");
    expect(m.topics().find((t) => t.name === "twice")!.partitions).toBe(3);
    await m.close();

    const again = await openMetadataStore(bunRuntime.fs, dir);
    expect(again.damage).toBeNull();
    expect(again.topics()).toEqual(m.topics());
    await again.close();
  });

  test("changes asked for while an fsync runs share the next one", async () => {
    const dir = `${tmp}/${n++}`;
    const fs = faultyFs(bunRuntime.fs);
    const m = await openMetadataStore(fs, dir);
    fs.trace = true;
    // The first change's fsync is slow; the other 50 are asked for while it runs (or, on a stalled
    // machine, after it: one batch all the same).
    fs.inject({ path: LOG, op: "sync", fault: "slow", delayMs: 300, times: 1 });
    const first = m.putTopic(topic("first"));
    while (fs.events.length === 0) await new Promise((r) => setTimeout(r, 1));
    const rest: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) rest.push(m.putTopic(topic(`r${i}`)));
    await Promise.all([first, ...rest]);
    const syncs = fs.ops.filter((o) => o.op === "synced" && o.path.endsWith(LOG)).length;
    expect(syncs).toBe(2);
    expect(m.topics().length).toBe(51);
    await m.close();
  });

  test("a full disk refuses the whole batch and applies none of it; the next batch goes through", async () => {
    const dir = `${tmp}/${n++}`;
    const fs = faultyFs(bunRuntime.fs);
    const m = await openMetadataStore(fs, dir);
    await m.putTopic(topic("kept"));
    fs.inject({ path: LOG, op: "write", fault: "ENOSPC", times: 1 });
    const refused = await Promise.allSettled([m.putTopic(topic("a")), m.putTopic(topic("b")), m.deleteTopic("kept")]);
    expect(refused.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(m.topics().map((t) => t.name)).toEqual(["kept"]);
    await Promise.all([m.putTopic(topic("c")), m.putTopic(topic("d"))]);
    expect(m.topics().map((t) => t.name)).toEqual(["kept", "c", "d"]);
    await m.close();
    const again = await openMetadataStore(bunRuntime.fs, dir);
    expect(again.topics().map((t) => t.name)).toEqual(["kept", "c", "d"]);
    await again.close();
  });

  test("a failed fsync rejects the whole batch and every later change (offline until restart)", async () => {
    const dir = `${tmp}/${n++}`;
    const fs = faultyFs(bunRuntime.fs);
    const lines: string[] = [];
    const m = await openMetadataStore(fs, dir, (_l, msg) => lines.push(msg));
    await m.putTopic(topic("kept"));
    fs.inject({ path: LOG, op: "sync", fault: "EIO", times: 1 });
    const failed = await Promise.allSettled([m.putTopic(topic("a")), m.putTopic(topic("b"))]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(m.topics().map((t) => t.name)).toEqual(["kept"]);
    await expect(m.putTopic(topic("c"))).rejects.toThrow(/offline/);
    expect(lines.filter((l) => l.includes("is offline")).length).toBe(1);
    await m.close();
  });
});
