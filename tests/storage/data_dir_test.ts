// src/storage/data_dir.ts on the memory FileSystem: which directories the broker may use, the
// marker it writes, recovery of topics from partition directories when the metadata lost records,
// and directories no topic claims renamed aside (never deleted). Real processes and kcat:
// tests/e2e/data_dir_test.ts.
import { expect, test } from "bun:test";
import { memoryFileSystem } from "../../src/runtime/memory.ts";
import {
  DataDirRefused,
  inspectDataDir,
  recoverTopics,
  setAsideUnclaimed,
  writeMarker,
} from "../../src/storage/data_dir.ts";
import { openMetadataStore } from "../../src/storage/metadata.ts";

const enc = new TextEncoder();

test("empty, ours, a pre-marker Chronik dir, a foreign dir and an Apache Kafka log dir", async () => {
  const fs = memoryFileSystem();
  await fs.mkdir("/e");
  await fs.writeFileAtomic("/e/.lock", enc.encode("1\n"));
  expect(await inspectDataDir(fs, "/e")).toEqual({ kind: "empty" });
  await writeMarker(fs, "/e", "cid", 3);
  expect(await inspectDataDir(fs, "/e")).toEqual({ kind: "ours", clusterId: "cid", nodeId: 3 });
  await fs.mkdir("/old/__chronik_metadata");
  expect(await inspectDataDir(fs, "/old")).toEqual({ kind: "legacy" });
  await fs.mkdir("/home/me/src");
  await fs.writeFileAtomic("/home/me/todo.txt", enc.encode("x"));
  const e1 = await inspectDataDir(fs, "/home/me").catch((e) => e);
  expect(e1).toBeInstanceOf(DataDirRefused);
  expect(e1.message).toContain("is not empty (src/, todo.txt) and has no meta.properties");
  await fs.mkdir("/kafka/orders-0");
  await fs.writeFileAtomic("/kafka/meta.properties", enc.encode("version=1\ncluster.id=x\nnode.id=1\n"));
  expect((await inspectDataDir(fs, "/kafka").catch((e) => e)).message).toContain("Apache Kafka log dir");
});

test("a metadata log with no records: partition dirs become topics; a dir that is not a partition's is set aside", async () => {
  const fs = memoryFileSystem();
  for (const d of ["/d/orders-0", "/d/orders-2", "/d/__consumer_offsets-0", "/d/photos-2024"]) await fs.mkdir(d);
  await fs.writeFileAtomic("/d/orders-0/00000000000000000000.log", new Uint8Array(0));
  await fs.writeFileAtomic("/d/photos-2024/beach.jpg", enc.encode("jpg"));
  await fs.mkdir("/d/__chronik_metadata");
  await fs.writeFileAtomic("/d/__chronik_metadata/log", new Uint8Array(0)); // truncated to 0 bytes
  const meta = await openMetadataStore(fs, "/d");
  expect(meta.damage).toContain("holds no records");
  const lines: string[] = [];
  let id = 0;
  const recovered = await recoverTopics(fs, "/d", meta, () => `id${id++}`, (_l, m) => lines.push(m));
  expect(recovered.sort()).toEqual(["__consumer_offsets", "orders"]);
  const topics = new Map(meta.topics().map((t) => [t.name, t]));
  expect(topics.get("orders")?.partitions).toBe(3);
  expect(topics.get("orders")?.configs).toEqual({});
  expect(topics.get("__consumer_offsets")?.configs["cleanup.policy"]).toBe("compact");
  expect(lines.join("\n")).toContain("recovered topic orders (3 partition(s))");
  await setAsideUnclaimed(fs, "/d", (t, p) => (topics.get(t)?.partitions ?? 0) > p, (_l, m) => lines.push(m));
  const names = (await fs.list("/d")).map((e) => e.name);
  expect(names.some((n) => /^photos-2024\.[0-9a-f]{32}-stray$/.test(n))).toBe(true);
  const stray = names.find((n) => n.startsWith("photos-2024."))!;
  expect(await fs.readFile(`/d/${stray}/beach.jpg`)).toEqual(enc.encode("jpg"));
  await meta.close();
});

test("whole metadata: nothing is recovered; an unclaimed partition dir is renamed aside, never deleted", async () => {
  const fs = memoryFileSystem();
  let meta = await openMetadataStore(fs, "/d");
  await meta.putTopic({ name: "a", id: "A", partitions: 1, configs: {} });
  await meta.close();
  await fs.mkdir("/d/a-0");
  await fs.mkdir("/d/a-1"); // beyond the topic's count
  await fs.writeFileAtomic("/d/a-1/00000000000000000000.log", enc.encode("data"));
  meta = await openMetadataStore(fs, "/d");
  expect(meta.damage).toBeNull();
  expect(await recoverTopics(fs, "/d", meta, () => "x", () => {})).toEqual([]);
  await setAsideUnclaimed(fs, "/d", (t, p) => t === "a" && p < 1, () => {});
  const stray = (await fs.list("/d")).find((e) => e.name.startsWith("a-1."))!;
  expect(stray.name).toMatch(/-stray$/);
  expect(await fs.readFile(`/d/${stray.name}/00000000000000000000.log`)).toEqual(enc.encode("data"));
  await meta.close();
});

test("a corrupt metadata log is copied aside before its tail is truncated, and reported as damage", async () => {
  const fs = memoryFileSystem();
  let meta = await openMetadataStore(fs, "/d");
  await meta.putTopic({ name: "a", id: "A", partitions: 1, configs: {} });
  await meta.putTopic({ name: "b", id: "B", partitions: 2, configs: { "retention.ms": "1" } });
  await meta.close();
  const h = await fs.open("/d/__chronik_metadata/log");
  const bytes = await h.read(0, await h.size());
  const first = new DataView(bytes.buffer, bytes.byteOffset).getInt32(0) + 8;
  await h.write(first + 10, new Uint8Array([0xff, 0xff])); // inside b's record
  await h.close();
  meta = await openMetadataStore(fs, "/d");
  expect(meta.damage).toContain("torn or corrupt tail");
  expect(meta.topics().map((t) => t.name)).toEqual(["a"]);
  const aside = (await fs.list("/d/__chronik_metadata")).find((e) => e.name.startsWith("log.damaged-"));
  expect(aside?.size).toBe(bytes.length);
  await meta.close();
});

test("an unreadable metadata snapshot is renamed aside (not deleted) and reported as damage", async () => {
  const fs = memoryFileSystem();
  await fs.mkdir("/d/__chronik_metadata");
  await fs.writeFileAtomic("/d/__chronik_metadata/snapshot.json", enc.encode("{not json"));
  await fs.mkdir("/d/t-0");
  const lines: string[] = [];
  const meta = await openMetadataStore(fs, "/d", (_l, m) => lines.push(m));
  expect(meta.damage).toContain("snapshot.json was unreadable");
  const aside = (await fs.list("/d/__chronik_metadata")).find((e) => e.name.startsWith("snapshot.json.damaged-"));
  expect(await fs.readFile(`/d/__chronik_metadata/${aside?.name}`)).toEqual(enc.encode("{not json"));
  expect(await recoverTopics(fs, "/d", meta, () => "id", () => {})).toEqual(["t"]);
  await meta.close();
});
