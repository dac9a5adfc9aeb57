// The broker on the file engine, over TCP: persistence across restarts (topics, ids, configs, data,
// log start), DeleteRecords, retention, compaction, compression.type, and storage faults injected
// through the memory FileSystem becoming KAFKA_STORAGE_ERROR with nothing half-written served.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { bunRuntime } from "../../adapters/bun.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { startBroker } from "../../src/broker/broker.ts";
import type { BrokerConfig } from "../../src/config.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteRecords } from "../../src/protocol/messages/21_delete_records.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { batchCodec, batchCrcValid, buildRecordBatch, decodeRecords } from "../../src/protocol/record_batch.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { MemoryFileSystem } from "../../src/runtime/memory.ts";
import { type ClientConn, memoryFileSystem, memoryRuntime } from "../../src/runtime/memory.ts";
import { decodeResponse, encodeRequest, ZERO_UUID } from "../../src/protocol/codec.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/header.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { Api } from "../../src/protocol/schema.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";
import type { FileLogStore } from "../../src/storage/file.ts";
import { eventually } from "../helpers/consume.ts";
import { frameReader } from "../helpers/frames.ts";
import { fetchFrom } from "../helpers/read.ts";
import { WireClient } from "../helpers/wire_client.ts";

const dec = new TextDecoder();
const tmp = mkdtempSync(`${tmpdir()}/chronik-broker-storage-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;

function runtimeWith(fs?: MemoryFileSystem): Runtime & { lines: string[] } {
  const lines: string[] = [];
  return {
    ...bunRuntime,
    ...(fs ? { fs } : {}),
    lines,
    log: (level, message) => void lines.push(`${level} ${message}`),
  };
}

type Running = { broker: Broker; c: WireClient; rt: Runtime & { lines: string[] }; store: FileLogStore };

async function start(config: Partial<BrokerConfig>, fs?: MemoryFileSystem): Promise<Running> {
  const rt = runtimeWith(fs);
  const broker = await startBroker(rt, { host: "127.0.0.1", port: 0, logLevel: "debug", ...config });
  const c = await WireClient.connect(broker.port);
  return { broker, c, rt, store: broker.services.store as FileLogStore };
}
async function stop(r: Running) {
  r.c.close();
  await r.broker.close();
}

async function createTopic(c: WireClient, name: string, partitions = 1, configs: Record<string, string> = {}) {
  const r = await c.send(CreateTopics, 7, {
    topics: [{
      name,
      numPartitions: partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
    }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(r.topics![0].errorCode).toBe(0);
  return r.topics![0].topicId!;
}

const batch = (values: (string | null)[], opts: { keys?: string[]; timestamp?: number; codec?: number } = {}) =>
  buildRecordBatch({
    codec: opts.codec ?? 0,
    records: values.map((v, i) => ({
      key: opts.keys?.[i] ?? `k${i}`,
      value: v,
      timestamp: (opts.timestamp ?? 1000) + i,
    })),
  });

async function produce(c: WireClient, topic: string, records: Uint8Array, partition = 0, acks = -1) {
  const r = await c.send(Produce, 9, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }],
  });
  return r.responses![0].partitionResponses![0];
}

function split(records: Uint8Array | null | undefined): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (!records) return out;
  let pos = 0;
  while (pos < records.length) {
    const size = 12 + new DataView(records.buffer, records.byteOffset + pos).getInt32(8);
    out.push(records.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

/** Every record of a partition as "offset:value" (checks each served batch's CRC). */
async function readAll(c: WireClient, topic: string, partition = 0): Promise<string[]> {
  const out: string[] = [];
  let offset = -1n;
  for (;;) {
    if (offset < 0n) offset = (await listOffset(c, topic, -2n, partition)).offset!;
    const p = await fetchFrom(c, topic, offset, partition);
    expect(p.errorCode).toBe(0);
    const batches = split(p.records as Uint8Array);
    if (batches.length === 0) return out;
    for (const b of batches) {
      expect(batchCrcValid(b)).toBe(true);
      for (const r of decodeRecords(b).records) {
        if (r.offset < offset) continue;
        out.push(`${r.offset}:${r.value === null ? "null" : dec.decode(r.value)}`);
      }
      const d = decodeRecords(b);
      offset = d.baseOffset + BigInt(d.lastOffsetDelta) + 1n;
    }
  }
}

async function listOffset(c: WireClient, topic: string, timestamp: bigint, partition = 0) {
  const r = await c.send(ListOffsets, 8, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 1000,
    topics: [{
      name: topic,
      partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }],
    }],
  });
  return r.topics![0].partitions![0];
}

async function deleteRecords(c: WireClient, topic: string, offset: bigint, partition = 0) {
  const r = await c.send(DeleteRecords, 2, {
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset }] }],
    timeoutMs: 1000,
  });
  return r.topics![0].partitions![0];
}

describe("file engine behind the broker", () => {
  test("topics, ids, configs, data and the log start survive a restart", async () => {
    const dataDir = `${tmp}/${dirs++}`;
    let r = await start({ dataDir });
    const id = await createTopic(r.c, "keep", 3, { "retention.ms": "-1", "max.message.bytes": "5000" });
    expect((await produce(r.c, "keep", batch(["a", "b", "c"]), 1)).baseOffset).toBe(0n);
    expect((await produce(r.c, "keep", batch(["d"]), 1)).baseOffset).toBe(3n);
    expect((await deleteRecords(r.c, "keep", 1n, 1)).lowWatermark).toBe(1n);
    const clusterId = r.broker.services.clusterId;
    await stop(r);

    r = await start({ dataDir });
    const t = r.broker.services.topics.get("keep")!;
    expect(t.id).toBe(id);
    expect(t.partitions.length).toBe(3);
    expect(Object.fromEntries(t.configs)).toEqual({ "retention.ms": "-1", "max.message.bytes": "5000" });
    expect(r.broker.services.clusterId).toBe(clusterId);
    expect(r.store.stats.cleanStart).toBe(true);
    expect(await readAll(r.c, "keep", 1)).toEqual(["1:b", "2:c", "3:d"]);
    expect((await listOffset(r.c, "keep", -2n, 1)).offset).toBe(1n);
    expect((await produce(r.c, "keep", batch(["e"]), 1)).baseOffset).toBe(4n);
    await stop(r);
  });

  test("a deleted topic stays deleted; re-created with the same name it starts empty", async () => {
    const dataDir = `${tmp}/${dirs++}`;
    let r = await start({ dataDir });
    await createTopic(r.c, "gone");
    await produce(r.c, "gone", batch(["x"]));
    await r.broker.services.topics.delete(r.broker.services.topics.get("gone")!);
    await stop(r);
    r = await start({ dataDir });
    expect(r.broker.services.topics.get("gone")).toBeUndefined();
    await createTopic(r.c, "gone");
    expect(await readAll(r.c, "gone")).toEqual([]);
    await stop(r);
  });

  test("DeleteRecords: -1 is the high watermark, beyond it OFFSET_OUT_OF_RANGE; fetch below the start is out of range", async () => {
    const r = await start({ dataDir: `${tmp}/${dirs++}` });
    await createTopic(r.c, "dr", 1, { "internal.segment.bytes": "200" });
    for (let i = 0; i < 10; i++) await produce(r.c, "dr", batch([`v${i}`, `w${i}`]));
    expect((await deleteRecords(r.c, "dr", 21n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect((await deleteRecords(r.c, "dr", -2n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const d = await deleteRecords(r.c, "dr", 7n);
    expect(d).toEqual({ partitionIndex: 0, lowWatermark: 7n, errorCode: 0 });
    expect((await deleteRecords(r.c, "dr", 3n)).lowWatermark).toBe(7n);
    expect((await listOffset(r.c, "dr", -2n)).offset).toBe(7n);
    expect((await fetchFrom(r.c, "dr", 6n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect((await readAll(r.c, "dr"))[0]).toBe("7:w3");
    const log = r.broker.services.topics.get("dr")!.partitions[0];
    expect(log.sizeInBytes).toBeLessThan(10 * 100);
    expect((await deleteRecords(r.c, "dr", -1n)).lowWatermark).toBe(20n);
    expect(await readAll(r.c, "dr")).toEqual([]);
    expect((await deleteRecords(r.c, "nope", 0n)).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await stop(r);
  });

  test("retention.bytes and retention.ms delete whole segments on the check interval; the log start follows", async () => {
    const r = await start({
      dataDir: `${tmp}/${dirs++}`,
      "log.retention.check.interval.ms": 50,
      "log.segment.delete.delay.ms": 0,
    });
    await createTopic(r.c, "rb", 1, { "internal.segment.bytes": "300", "retention.bytes": "1000" });
    await createTopic(r.c, "rt", 1, { "internal.segment.bytes": "300", "retention.ms": "60000" });
    const now = Date.now();
    for (let i = 0; i < 40; i++) {
      await produce(r.c, "rb", batch([`v${i}`], { timestamp: now }));
      // the first 20 are two hours old, the rest fresh
      await produce(r.c, "rt", batch([`v${i}`], { timestamp: i < 20 ? now - 7_200_000 : now }));
    }
    const rb = r.broker.services.topics.get("rb")!.partitions[0];
    const rt = r.broker.services.topics.get("rt")!.partitions[0];
    // Checks run every 50 ms; rolled segments' flushes (acks=all here: each produce waits for them) go first.
    await eventually("retention", () => rb.sizeInBytes < 1000 + 300 && rt.logStartOffset > 10, 10_000);
    expect(rb.sizeInBytes).toBeLessThan(1000 + 300); // Kafka: over by less than one segment
    expect(rb.sizeInBytes).toBeGreaterThan(300);
    expect(rb.logStartOffset).toBeGreaterThan(0);
    expect((await listOffset(r.c, "rb", -2n)).offset).toBe(BigInt(rb.logStartOffset));
    expect((await readAll(r.c, "rb")).at(-1)).toBe("39:v39");
    expect(rt.logStartOffset).toBeGreaterThan(10);
    expect(rt.logStartOffset).toBeLessThanOrEqual(20);
    expect(r.store.stats.segmentsDeleted).toBeGreaterThan(0);
    await stop(r);
  });

  test("compaction keeps the latest record per key at its offset; tombstones stay after the first pass (KIP-534)", async () => {
    const r = await start({ dataDir: `${tmp}/${dirs++}`, "log.cleaner.backoff.ms": 100000 });
    await createTopic(r.c, "cmp", 1, {
      "cleanup.policy": "compact",
      "internal.segment.bytes": "250",
      // A minute: the tombstones' delete horizon, set by the pass, is not reached however slowly the test runs.
      "delete.retention.ms": "60000",
    });
    const old = Date.now() - 600_000;
    const sends: [string, string | null, number][] = [];
    for (let i = 0; i < 30; i++) sends.push([`key${i % 4}`, `v${i}`, Date.now()]);
    sends.push(["key1", null, old]); // tombstone with an old timestamp: kept, its horizon starts now
    sends.push(["key2", null, Date.now()]); // tombstone, recent: kept
    for (let i = 0; i < 5; i++) sends.push([`fill${i}`, `f${i}`, Date.now()]);
    for (const [i, [k, v, ts]] of sends.entries()) {
      const codec = i % 5 === 0 ? 4 : i % 3 === 0 ? 1 : 0;
      expect((await produce(r.c, "cmp", batch([v], { keys: [k], timestamp: ts, codec }))).errorCode).toBe(0);
    }
    await r.store.runCompaction(true);
    const all = await readAll(r.c, "cmp");
    expect(r.store.stats.compactions).toBeGreaterThan(0);
    // latest per key survives at its original offset
    expect(all).toContain("28:v28"); // key0
    expect(all).toContain("31:null"); // key2 tombstone, recent
    expect(all).toContain("27:v27"); // key3
    expect(all).toContain("30:null"); // key1 tombstone, old timestamp (KIP-534: counted from the first pass)
    expect(all.some((x) => x === "0:v0" || x === "29:v29" || x === "26:v26")).toBe(false);
    const offsets = all.map((x) => Number(x.split(":")[0]));
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    expect((await produce(r.c, "cmp", batch(["after"]))).baseOffset).toBe(37n);
    await stop(r);
  });

  test("compression.type: a codec name rewrites batches; producer keeps them as sent", async () => {
    const r = await start({ dataDir: `${tmp}/${dirs++}` });
    for (const [name, codec] of [["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4], ["uncompressed", 0]] as const) {
      await createTopic(r.c, `ct-${name}`, 1, { "compression.type": name });
      await produce(r.c, `ct-${name}`, batch(["a", "b"], { codec: codec === 1 ? 3 : 1 }));
      const p = await fetchFrom(r.c, `ct-${name}`, 0n);
      const [b] = split(p.records as Uint8Array);
      expect(batchCodec(b)).toBe(codec);
      expect(decodeRecords(b).records.map((x) => dec.decode(x.value!))).toEqual(["a", "b"]);
    }
    await createTopic(r.c, "ct-producer");
    await produce(r.c, "ct-producer", batch(["a"], { codec: 3 }));
    expect(batchCodec(split((await fetchFrom(r.c, "ct-producer", 0n)).records as Uint8Array)[0])).toBe(3);
    await stop(r);
  });
});

/**
 * A client over the memory runtime's in-process connection. The runtime delivers server bytes a
 * timer tick after write(), so a response's chunks sit queued while the broker serves the next
 * requests: a read buffer returned to the pool before its bytes went out would be overwritten.
 */
function memoryClient(conn: ClientConn): Pick<WireClient, "send" | "close"> {
  let next = 1;
  const pending = new Map<number, (frame: Uint8Array) => void>();
  conn.ondata = frameReader((frame) => {
    const corr = new DataView(frame.buffer).getInt32(0);
    pending.get(corr)?.(frame);
    pending.delete(corr);
  });
  return {
    send<Q, S>(api: Api<Q, S>, version: number, body: Q): Promise<S> {
      const correlationId = next++;
      const w = new Writer();
      w.int32(0);
      writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: "memory-test" });
      encodeRequest(api, version, body, w);
      w.patchInt32(0, w.length - 4);
      return new Promise<Uint8Array>((resolve) => {
        pending.set(correlationId, resolve);
        conn.write(concatChunks(w.finish()));
      }).then((frame) => {
        const rd = new Reader(frame);
        readResponseHeader(rd, api.key, version);
        return decodeResponse(api, version, rd);
      });
    },
    close: () => conn.close(),
  };
}

describe("Fetch reads into pooled buffers, returned once each response is sent", () => {
  const value = (p: number, o: bigint) => `${p}:${o}:${"v".repeat(900)}`;
  for (const where of ["disk", "memory FileSystem", "memory runtime"] as const) {
    test(`3 connections x 4 partitions in flight, every batch byte-exact and CRC-valid (${where})`, async () => {
      const fs = where === "disk" ? undefined : memoryFileSystem();
      const mrt = where === "memory runtime" ? memoryRuntime({ fs }) : null;
      const r = mrt
        ? await (async () => {
          const broker = await startBroker(mrt, { host: "127.0.0.1", port: 0, logLevel: "debug", dataDir: "/d" });
          return { broker, c: memoryClient(mrt.connect(broker.port)) };
        })()
        : await start({ dataDir: where === "disk" ? `${tmp}/${dirs++}` : "/d" }, fs);
      await createTopic(r.c as WireClient, "pool", 4);
      for (let p = 0; p < 4; p++) {
        for (let i = 0; i < 60; i++) {
          const base = BigInt(i * 10);
          const recs = Array.from({ length: 10 }, (_, j) => value(p, base + BigInt(j)));
          expect((await produce(r.c as WireClient, "pool", batch(recs), p, 1)).baseOffset).toBe(base);
        }
      }
      const conns = mrt
        ? [0, 1, 2].map(() => memoryClient(mrt.connect(r.broker.port)))
        : await Promise.all([0, 1, 2].map(() => WireClient.connect(r.broker.port)));
      const walk = async (c: Pick<WireClient, "send">, p: number) => {
        let offset = 0n;
        let n = 0;
        while (offset < 600n) {
          const res = await c.send(Fetch, 12, {
            clusterId: null,
            replicaId: -1,
            replicaState: { replicaId: -1, replicaEpoch: -1n },
            maxWaitMs: 0,
            minBytes: 0,
            maxBytes: 1 << 20,
            isolationLevel: 0,
            sessionId: 0,
            sessionEpoch: -1,
            rackId: "",
            forgottenTopicsData: [],
            topics: [{
              topic: "pool",
              topicId: "AAAAAAAAAAAAAAAAAAAAAA",
              partitions: [{
                partition: p,
                currentLeaderEpoch: -1,
                fetchOffset: offset,
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: 40_000,
                replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
                highWatermark: 9223372036854775807n,
              }],
            }],
          });
          const batches = split(res.responses![0].partitions![0].records as Uint8Array);
          expect(batches.length).toBeGreaterThan(0);
          for (const b of batches) {
            expect(batchCrcValid(b)).toBe(true);
            for (const rec of decodeRecords(b).records) {
              expect(rec.offset).toBe(offset);
              expect(dec.decode(rec.value!)).toBe(value(p, rec.offset));
              offset++;
              n++;
            }
          }
        }
        return n;
      };
      for (let round = 0; round < 2; round++) {
        const counts = await Promise.all(conns.flatMap((c) => [0, 1, 2, 3].map((p) => walk(c, p))));
        expect(counts).toEqual(new Array(12).fill(600));
      }
      const stats = r.broker.services.readBuffers.stats;
      expect(stats.acquired).toBeGreaterThan(100);
      expect(stats.reused).toBeGreaterThan(stats.acquired / 2);
      for (const c of conns) c.close();
      r.c.close();
      await r.broker.close();
    });
  }
});

/** One Produce v9 frame carrying `records`, length prefix included, for writing raw to a connection. */
function produceFrame(
  correlationId: number,
  topic: string,
  partition: number,
  records: Uint8Array,
  acks = 1,
): Uint8Array {
  const w = new Writer();
  w.int32(0);
  writeRequestHeader(w, { apiKey: Produce.key, apiVersion: 9, correlationId, clientId: "raw" });
  encodeRequest(Produce, 9, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }],
  }, w);
  w.patchInt32(0, w.length - 4);
  return concatChunks(w.finish());
}

describe("Produce frames that arrive over several reads are assembled in pooled buffers", () => {
  const value = (p: number, i: number) => `${p}:${i}:${"w".repeat(1500)}`;
  for (const [engine, lent] of [["file", false], ["memory", false], ["file", true], ["memory", true]] as const) {
    test(`40 requests in flight, most in 3 pieces: every record stored as sent (${engine} engine${lent ? ", chunks lent and overwritten, as from Deno" : ""})`, async () => {
      const mrt = memoryRuntime({ lendChunks: lent });
      const broker = await startBroker(mrt, {
        host: "127.0.0.1",
        port: 0,
        logLevel: "debug",
        ...(engine === "file" ? { dataDir: "/d" } : {}),
      });
      const admin = memoryClient(mrt.connect(broker.port));
      await createTopic(admin as WireClient, "split", 2);
      const conn = mrt.connect(broker.port);
      let answered = 0;
      conn.ondata = frameReader(() => void answered++);
      // Rounds of 40 pipelined requests: frames of the second round reuse buffers the first released.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 40; i++) {
          const p = i % 2;
          const n = round * 20 + (i >> 1);
          const f = produceFrame(
            round * 40 + i + 1,
            "split",
            p,
            batch(Array.from({ length: 20 }, (_, j) => value(p, n * 20 + j))),
          );
          if (i % 4 === 3) {
            conn.write(f); // a whole frame in one chunk
            continue;
          }
          const third = Math.floor(f.length / 3);
          conn.write(f.subarray(0, third));
          conn.write(f.subarray(third, 2 * third));
          conn.write(f.subarray(2 * third));
        }
        while (answered < (round + 1) * 40) await Bun.sleep(1);
      }
      for (const p of [0, 1]) {
        const got = await readAll(admin as WireClient, "split", p);
        expect(got).toEqual(Array.from({ length: 800 }, (_, i) => `${i}:${value(p, i)}`));
      }
      const stats = broker.services.frameBuffers.stats;
      // Split frames are assembled in pool buffers; lent chunks have every frame copied into one.
      expect(stats.acquired).toBe(lent ? 80 : 60);
      // The memory engine keeps appended buffers as its data: none may come back to the pool.
      if (engine === "file") expect(stats.reused).toBeGreaterThan(0);
      else expect(stats.released).toBe(0);
      conn.close();
      admin.close();
      await broker.close();
    });
  }
});

describe("responses that are ready together go out as one write", () => {
  test("acks=1 answers queued behind a held acks=all one: one write when it completes, in order", async () => {
    const fs = memoryFileSystem();
    const mrt = memoryRuntime({ fs });
    // Count what the server hands its connections.
    const writes: number[] = [];
    const listen = mrt.listen.bind(mrt);
    mrt.listen = (opts, accept) =>
      listen(opts, (conn) => {
        const write = conn.write.bind(conn);
        conn.write = (chunk, sent) => (writes.push(chunk.length), write(chunk, sent));
        return accept(conn);
      });
    const broker = await startBroker(mrt, { host: "127.0.0.1", port: 0, logLevel: "debug", dataDir: "/d" });
    const admin = memoryClient(mrt.connect(broker.port));
    await createTopic(admin as WireClient, "merge", 2);
    const conn = mrt.connect(broker.port);
    const order: number[] = [];
    conn.ondata = frameReader((frame) => void order.push(new DataView(frame.buffer, frame.byteOffset).getInt32(0)));
    const frame = (id: number, partition: number, acks: number) =>
      produceFrame(id, "merge", partition, batch([`v${id}`]), acks);
    const release = fs.holdSyncs(/merge-0\//);
    conn.write(frame(1, 0, -1)); // waits for its fsync
    for (let id = 2; id <= 6; id++) conn.write(frame(id, 1, 1)); // appended at once, answered after 1
    await eventually(
      "the acks=1 appends",
      async () => (await broker.services.store.open("merge", 1)).logEndOffset === 5,
      5000,
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    const before = writes.length;
    release();
    await eventually("all six answers", () => order.length === 6, 5000);
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
    expect(writes.length - before).toBe(1);
    conn.close();
    admin.close();
    await broker.close();
  });
});

describe("storage faults (memory FileSystem) become KAFKA_STORAGE_ERROR", () => {
  test("an append refused for want of space stores nothing; the next append continues densely", async () => {
    const fs = memoryFileSystem();
    const r = await start({ dataDir: "/d" }, fs);
    await createTopic(r.c, "f");
    expect((await produce(r.c, "f", batch(["a"]))).baseOffset).toBe(0n);
    fs.failNext("append", "ENOSPC", { path: /\/f-0\// });
    expect((await produce(r.c, "f", batch(["lost"]))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "f", batch(["b"]))).baseOffset).toBe(1n);
    expect(await readAll(r.c, "f")).toEqual(["0:a", "1:b"]);
    await stop(r);
  });

  test("disk full mid-write: the partial batch is truncated away, never served", async () => {
    const fs = memoryFileSystem();
    const r = await start({ dataDir: "/d" }, fs);
    await createTopic(r.c, "full");
    await produce(r.c, "full", batch(["a"]));
    fs.diskLimit = fs.used() + 100;
    expect((await produce(r.c, "full", batch(["x".repeat(1000)]))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(await readAll(r.c, "full")).toEqual(["0:a"]);
    fs.diskLimit = null;
    expect((await produce(r.c, "full", batch(["b"]))).baseOffset).toBe(1n);
    expect(await readAll(r.c, "full")).toEqual(["0:a", "1:b"]);
    await stop(r);
  });

  test("when the rollback fails too the log dir goes offline: appends and reads answer KAFKA_STORAGE_ERROR", async () => {
    const fs = memoryFileSystem();
    const r = await start({ dataDir: "/d" }, fs);
    await createTopic(r.c, "off", 2);
    await produce(r.c, "off", batch(["a"]));
    fs.failNext("append", "EIO", { path: /\/off-0\// });
    fs.failNext("truncate", "EIO", { path: /\/off-0\// });
    expect((await produce(r.c, "off", batch(["x"]))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "off", batch(["y"]))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // The whole log dir (Kafka's unit of failure), not just the partition.
    expect((await produce(r.c, "off", batch(["z"]), 1)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await fetchFrom(r.c, "off", 0n)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(r.rt.lines.filter((l) => l.includes("is offline")).length).toBe(1);
    await stop(r);
  });

  test("a failed fsync fails the acks=all produce and takes the partition offline", async () => {
    const fs = memoryFileSystem();
    const r = await start({ dataDir: "/d" }, fs);
    await createTopic(r.c, "fs");
    fs.failNext("sync", "EIO", { path: /\/fs-0\/.*\.log$/ });
    expect((await produce(r.c, "fs", batch(["a"]))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect((await produce(r.c, "fs", batch(["b"]))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    await stop(r);
  });

  test("corrupt and oversized batches are refused and nothing is stored", async () => {
    const fs = memoryFileSystem();
    const r = await start({ dataDir: "/d" }, fs);
    await createTopic(r.c, "bad", 1, { "max.message.bytes": "200" });
    const b = batch(["a"]);
    b[b.length - 1] ^= 0xff;
    expect((await produce(r.c, "bad", b)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await produce(r.c, "bad", batch(["x".repeat(300)]))).errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(r.broker.services.topics.get("bad")!.partitions[0].sizeInBytes).toBe(0);
    expect((await produce(r.c, "bad", batch(["ok"]))).baseOffset).toBe(0n);
    await stop(r);
  });

  test("power loss (memory FS crash): acks=all records survive; recovery truncates nothing valid", async () => {
    const fs = memoryFileSystem();
    let r = await start({ dataDir: "/d" }, fs);
    await createTopic(r.c, "pl", 2);
    for (let i = 0; i < 20; i++) await produce(r.c, "pl", batch([`d${i}`]), i % 2);
    // acks=1 is answered before the fsync: it may be lost.
    await produce(r.c, "pl", batch(["maybe"]), 0, 1);
    r.c.close();
    fs.crash();
    await r.broker.close().catch(() => {});
    r = await start({ dataDir: "/d" }, fs);
    expect(r.store.stats.cleanStart).toBe(false);
    const p0 = await readAll(r.c, "pl", 0);
    expect(p0.slice(0, 10)).toEqual([...Array(10).keys()].map((i) => `${i}:d${2 * i}`));
    expect(await readAll(r.c, "pl", 1)).toEqual([...Array(10).keys()].map((i) => `${i}:d${2 * i + 1}`));
    await stop(r);
  });
});
