// Creating and deleting topics on the file engine (a data dir on the Bun runtime's real file system, wrapped
// by tests/helpers/faulty_fs.ts to count the metadata log's fsyncs and make them slow): the topics one
// Metadata (auto-creation) or DeleteTopics request names are handled together, so their records share the
// metadata log's group commit, and a topic another request is creating is answered once that creation is
// done; a topic's partitions are opened together. One creation after another,
// a Metadata request naming 30 new topics waited for 30 fsyncs and partition directories in a row (the
// schema fuzz, file broker, under load: Metadata and DeleteTopics unanswered for a minute).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../adapters/bun.ts";
import { startBroker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { CreatePartitions } from "../../src/protocol/messages/37_create_partitions.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";
import { faultyRuntime } from "../helpers/faulty_fs.ts";
import { WireClient } from "../helpers/wire_client.ts";

const tmp = mkdtempSync(`${tmpdir()}/chronik-autocreate-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const LOG = "__chronik_metadata/log";

const metadataV3 = (c: WireClient, names: string[]) =>
  c.send(Metadata, 3, {
    topics: names.map((name) => ({ name, topicId: ZERO_UUID })),
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });

const allTopics = async (c: WireClient) =>
  (await c.send(Metadata, 12, {
    topics: null,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  })).topics!.map((t) => t.name!);

describe("Metadata auto-creation on a data dir", () => {
  test("20 new topics in one request share the metadata log's fsyncs; duplicates and a concurrent request wait for the same creation", async () => {
    const dir = `${tmp}/a`;
    const rt = faultyRuntime(bunRuntime);
    const broker = await startBroker(rt, { host: "127.0.0.1", port: 0, logLevel: "info", dataDir: dir });
    const c = await WireClient.connect(broker.port);
    const other = await WireClient.connect(broker.port);
    try {
      const names = Array.from({ length: 20 }, (_, i) => `auto-${i}`);
      rt.fs.inject({ path: LOG, op: "sync", fault: "slow", delayMs: 200 });
      rt.fs.trace = true;
      const asked = [...names, "auto-3", "bad name", "auto-0"];
      const [md, md2] = await Promise.all([metadataV3(c, asked), metadataV3(other, ["auto-7"])]);
      rt.fs.trace = false;
      expect(md.topics!.map((t) => [t.name, t.errorCode])).toEqual(
        asked.map((n) => [n, n === "bad name" ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.NONE]),
      );
      for (const t of md.topics!) if (t.errorCode === ErrorCode.NONE) expect(t.partitions!.length).toBe(1);
      // The other connection's request named a topic being created: answered with it, not UNKNOWN.
      expect(md2.topics!.map((t) => [t.name, t.errorCode, t.partitions!.length])).toEqual([["auto-7", 0, 1]]);
      // One after another this took 20 fsyncs of the metadata log (one per topic).
      const syncs = rt.fs.ops.filter((o) => o.op === "synced" && o.path.endsWith(LOG)).length;
      expect(syncs).toBeLessThanOrEqual(2);
      expect(rt.lines.filter((l) => l.includes("created topic auto-")).length).toBe(20);
    } finally {
      c.close();
      other.close();
      await broker.close();
    }
    // Each topic recorded once: a restart lists the 20 of them.
    const again = await startBroker(bunRuntime, { host: "127.0.0.1", port: 0, logLevel: "warn", dataDir: dir });
    const c2 = await WireClient.connect(again.port);
    try {
      const md = await c2.send(Metadata, 12, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      expect(md.topics!.map((t) => t.name!).filter((n) => n.startsWith("auto-")).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `auto-${i}`).sort(),
      );
    } finally {
      c2.close();
      await again.close();
    }
  });
});

describe("CreateTopics and CreatePartitions on a data dir", () => {
  test("the partitions of a new topic, and those added to it, are opened together", async () => {
    const inFlight = { now: 0, max: 0 };
    const fs = new Proxy(bunRuntime.fs, {
      get(target, prop) {
        const v = (target as unknown as Record<PropertyKey, unknown>)[prop];
        if (prop !== "mkdir") return typeof v === "function" ? v.bind(target) : v;
        return async (path: string) => {
          const mine = /\/wide-\d+$/.test(path);
          if (mine) inFlight.max = Math.max(inFlight.max, ++inFlight.now);
          try {
            return await target.mkdir(path);
          } finally {
            if (mine) inFlight.now--;
          }
        };
      },
    });
    const broker = await startBroker({ ...bunRuntime, fs }, {
      host: "127.0.0.1",
      port: 0,
      logLevel: "warn",
      dataDir: `${tmp}/b`,
    });
    const c = await WireClient.connect(broker.port);
    try {
      const r = await c.send(CreateTopics, 7, {
        topics: [{ name: "wide", numPartitions: 64, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(r.topics![0].errorCode).toBe(ErrorCode.NONE);
      // One after another, never more than one partition directory was being made at a time.
      expect(inFlight.max).toBeGreaterThan(1);
      inFlight.max = 0;
      const p = await c.send(CreatePartitions, 3, {
        topics: [{ name: "wide", count: 128, assignments: null }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(p.results!.map((x) => x.errorCode)).toEqual([ErrorCode.NONE]);
      expect(inFlight.max).toBeGreaterThan(1);
      const md = await metadataV3(c, ["wide"]);
      expect(md.topics![0].partitions!.map((x) => x.partitionIndex).sort((a, b) => a! - b!)).toEqual(
        Array.from({ length: 128 }, (_, i) => i),
      );
    } finally {
      c.close();
      await broker.close();
    }
  });
});

describe("DeleteTopics on a data dir", () => {
  test("20 topics in one request are deleted together (one or two metadata log fsyncs); one named twice answers as gone", async () => {
    const dir = `${tmp}/c`;
    const rt = faultyRuntime(bunRuntime);
    const broker = await startBroker(rt, { host: "127.0.0.1", port: 0, logLevel: "info", dataDir: dir });
    const c = await WireClient.connect(broker.port);
    const names = Array.from({ length: 20 }, (_, i) => `del-${i}`);
    try {
      const created = await c.send(CreateTopics, 7, {
        topics: names.map((name) => ({ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] })),
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(created.topics!.every((t) => t.errorCode === ErrorCode.NONE)).toBe(true);
      rt.fs.inject({ path: LOG, op: "sync", fault: "slow", delayMs: 200 });
      rt.fs.trace = true;
      const d = await c.send(DeleteTopics, 4, { topicNames: [...names, "del-5", "nope"], topics: [], timeoutMs: 5000 });
      rt.fs.trace = false;
      expect(d.responses!.map((r) => [r.name, r.errorCode])).toEqual([
        ...names.map((n) => [n, ErrorCode.NONE]),
        ["del-5", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ["nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ]);
      // One after another this took 20 fsyncs of the metadata log (one per topic).
      const syncs = rt.fs.ops.filter((o) => o.op === "synced" && o.path.endsWith(LOG)).length;
      expect(syncs).toBeLessThanOrEqual(2);
      expect((await allTopics(c)).filter((n) => n.startsWith("del-"))).toEqual([]);
    } finally {
      c.close();
      await broker.close();
    }
    // Gone for good: a restart lists none of them, and no partition directory is left.
    const again = await startBroker(bunRuntime, { host: "127.0.0.1", port: 0, logLevel: "warn", dataDir: dir });
    try {
      const c2 = await WireClient.connect(again.port);
      const md = await c2.send(Metadata, 12, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      c2.close();
      expect(md.topics!.filter((t) => t.name!.startsWith("del-"))).toEqual([]);
      expect(readdirSync(dir).filter((n) => n.startsWith("del-"))).toEqual([]);
    } finally {
      await again.close();
    }
  });
});

describe("max.broker.partitions with topics created together", () => {
  test("a Metadata request auto-creating 12 topics creates only as many as the limit leaves room for", async () => {
    const rt = faultyRuntime(bunRuntime);
    const broker = await startBroker(rt, {
      host: "127.0.0.1",
      port: 0,
      logLevel: "info",
      dataDir: `${tmp}/d`,
      "max.broker.partitions": 8,
    });
    const c = await WireClient.connect(broker.port);
    try {
      const names = Array.from({ length: 12 }, (_, i) => `lim-${i}`);
      const md = await metadataV3(c, names);
      const ok = md.topics!.filter((t) => t.errorCode === ErrorCode.NONE).map((t) => t.name!);
      const all = (await c.send(Metadata, 12, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      })).topics!;
      // Created together, each creation counted the others in progress: the broker ends at the limit, not over.
      expect(all.reduce((n, t) => n + t.partitions!.length, 0)).toBe(8);
      expect(ok.length).toBeGreaterThan(0);
      expect(all.map((t) => t.name!).filter((n) => n.startsWith("lim-")).sort()).toEqual([...ok].sort());
    } finally {
      c.close();
      await broker.close();
    }
  });
});
