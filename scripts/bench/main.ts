// Load generator for Chronik (issue #7). Speaks the Kafka protocol directly: record batches are built
// once, frames prebuilt (only the correlation id and partition are patched per send), many requests
// in flight over several connections, so the client is not the bottleneck. Starts the broker under
// a runtime (or targets a running one), records the broker's CPU time and peak RSS, prints one JSON
// line per run and a table at the end.
//
//   bun scripts/bench/main.ts --runtime bun --mode produce [--acks 1] [--record-size 1024]
//       [--batch-size 65536] [--partitions 4] [--compression none|gzip|snappy|lz4|zstd]
//       [--connections 4] [--inflight 8] [--seconds 10] [--warmup 2]
//   --mode consume   [--preload-mb 3000] [--consumers 2] [--fanout] [--passes 2]
//                    [--fetch-max-bytes 52428800] [--partition-max-bytes 1048576]
//   --mode latency   [--rate 10000] (records/s; producer acks per --acks, consumer long-polls)
//   --mode pc        produce and consume (tailing) together
//   --mode rdkafka   cross-check: scripts/bench/rdkafka_check.py (librdkafka) produces --preload-mb of
//                    --record-size records, then consumes them
//   --mode startup   [--repeat 5]: spawn to "listening on" with an empty data dir, idle RSS
//   --mode suite     the issue's target set (see SUITE below) on each --runtime
//   --runtime bun,deno,node,binary | all ; or --target host:port [--pid N] for a running broker
//   -o key=value     broker config passed through (repeatable); --data-dir <dir> (default: a temp dir)
//   --json           JSON lines only (no table)
//   --timeline       produce: MB/s per second of the run, with the kernel's dirty and writeback
//                    page cache (MB, /proc/meminfo) at each second
//
// Units: MB = 10^6 bytes; throughput counts record-batch bytes (what producers send and the
// broker stores); records/s counts records in acknowledged batches.
import { cpus, loadavg, totalmem } from "node:os";
import { Fetch, type FetchRequest, Produce, type ProduceRequest } from "../../src/protocol/messages/index.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { decodeResponse, ZERO_UUID } from "../../src/protocol/codec.ts";
import { readResponseHeader } from "../../src/protocol/header.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { buildRecordBatch, decodeRecords } from "../../src/protocol/record_batch.ts";
import { prepareCompression } from "../../src/protocol/compression/index.ts";
import type { RuntimeKind } from "../../tests/e2e/harness.ts";
import { type BrokerUnderTest, cpuMs, cpuTimes, externalBroker, memMB, pageCacheMB, startBroker } from "./broker.ts";
import { BenchConn, buildFrame } from "./conn.ts";

// ---------------------------------------------------------------------------------------------
// Options

type Opts = {
  mode: string;
  runtimes: RuntimeKind[];
  target: string | null;
  pid: number | null;
  acks: number;
  recordSize: number;
  batchSize: number;
  partitions: number;
  compression: string;
  connections: number;
  inflight: number;
  seconds: number;
  warmup: number;
  preloadMB: number;
  consumers: number;
  fanout: boolean;
  passes: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  rate: number;
  repeat: number;
  brokerOpts: string[];
  dataDir: string | null;
  json: boolean;
  label: string | null;
  timeline: boolean;
};

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    mode: "produce",
    runtimes: ["bun"],
    target: null,
    pid: null,
    acks: 1,
    recordSize: 1024,
    batchSize: 65536,
    partitions: 4,
    compression: "none",
    connections: 4,
    inflight: 8,
    seconds: 10,
    warmup: 2,
    preloadMB: 3000,
    consumers: 2,
    fanout: false,
    passes: 2,
    fetchMaxBytes: 52428800,
    partitionMaxBytes: 1048576,
    rate: 10000,
    repeat: 5,
    brokerOpts: [],
    dataDir: null,
    json: false,
    label: null,
    timeline: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case "--mode":
        o.mode = v();
        break;
      case "--runtime": {
        const r = v();
        o.runtimes = (r === "all" ? "bun,deno,node,binary" : r).split(",") as RuntimeKind[];
        break;
      }
      case "--target":
        o.target = v();
        break;
      case "--pid":
        o.pid = Number(v());
        break;
      case "--acks":
        o.acks = Number(v() === "all" ? -1 : argv[i]);
        break;
      case "--record-size":
        o.recordSize = Number(v());
        break;
      case "--batch-size":
        o.batchSize = Number(v());
        break;
      case "--partitions":
        o.partitions = Number(v());
        break;
      case "--compression":
        o.compression = v();
        break;
      case "--connections":
        o.connections = Number(v());
        break;
      case "--inflight":
        o.inflight = Number(v());
        break;
      case "--seconds":
        o.seconds = Number(v());
        break;
      case "--warmup":
        o.warmup = Number(v());
        break;
      case "--preload-mb":
        o.preloadMB = Number(v());
        break;
      case "--consumers":
        o.consumers = Number(v());
        break;
      case "--fanout":
        o.fanout = true;
        break;
      case "--passes":
        o.passes = Number(v());
        break;
      case "--fetch-max-bytes":
        o.fetchMaxBytes = Number(v());
        break;
      case "--partition-max-bytes":
        o.partitionMaxBytes = Number(v());
        break;
      case "--rate":
        o.rate = Number(v());
        break;
      case "--repeat":
        o.repeat = Number(v());
        break;
      case "-o":
        o.brokerOpts.push(v());
        break;
      case "--data-dir":
        o.dataDir = v();
        break;
      case "--json":
        o.json = true;
        break;
      case "--label":
        o.label = v();
        break;
      case "--timeline":
        o.timeline = true;
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

const CODECS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

// ---------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let topicSeq = 0;

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

function randomValue(size: number, seed: number): Uint8Array {
  // Printable pseudo-random text: realistic for compression, never all one byte.
  const b = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = 97 + ((x >>> 0) % 26);
  }
  return b;
}

/** One batch of as many `recordSize`-byte records as fit in `batchSize` bytes (at least one). */
function makeBatch(recordSize: number, batchSize: number, codec: number): { batch: Uint8Array; records: number } {
  const value = randomValue(recordSize, 7);
  let n = Math.max(1, Math.floor((batchSize - 61) / (recordSize + 8)));
  for (;;) {
    const records = Array.from(
      { length: n },
      (_, i) => ({ key: null, value: i % 2 ? value : randomValue(recordSize, i + 1) }),
    );
    const batch = buildRecordBatch({ records, codec });
    // Compressed batches hold as many records as uncompressed ones would (like a producer's batch.size on input bytes).
    const plainSize = codec === 0 ? batch.length : 61 + n * (recordSize + 8);
    if (plainSize <= batchSize || n === 1) return { batch, records: n };
    n = Math.max(1, Math.floor(n * batchSize / plainSize) - 1);
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

function produceErrors(api: typeof Produce, version: number, frame: Uint8Array): number {
  const r = new Reader(frame);
  readResponseHeader(r, api.key, version);
  const res = decodeResponse(api, version, r);
  for (const t of res.responses ?? []) {
    for (const p of t.partitionResponses ?? []) if (p.errorCode) return p.errorCode;
  }
  return 0;
}

async function createTopic(
  b: BrokerUnderTest,
  name: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const c = await BenchConn.open(b.host, b.port);
  const res = await c.request(CreateTopics, 5, {
    topics: [{
      name,
      numPartitions: partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    }],
    timeoutMs: 30000,
    validateOnly: false,
  });
  c.close();
  const e = res.topics?.[0]?.errorCode ?? 0;
  check(e === 0 || e === 36, `CreateTopics ${name}: error ${e} ${res.topics?.[0]?.errorMessage ?? ""}`);
}

type Snap = {
  t: number;
  brokerCpu: number | null;
  brokerUser: number | null;
  brokerFaults: number | null;
  clientCpu: number;
  bytes: number;
  records: number;
  requests: number;
};

function clientCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Produce

const PRODUCE_V = 9;
const FETCH_V = 12;
const PARTITION_SENTINEL = 0x7abcdef1;

type Counters = { bytes: number; records: number; requests: number; errors: number; rtts: number[] | null };

/**
 * Produce load: `connections` x `inflight` lanes, each resending its own prebuilt frame (one batch
 * for one partition, partitions round-robin). Runs until `stop()`; counters hold acknowledged
 * bytes/records (acks=0: written to the socket, then confirmed by a round trip at stop).
 */
async function produceLoad(b: BrokerUnderTest, topic: string, o: Opts, counters: Counters) {
  const codec = CODECS[o.compression];
  check(codec !== undefined, `unknown compression ${o.compression}`);
  const { batch, records } = makeBatch(o.recordSize, o.batchSize, codec);
  const req: ProduceRequest = {
    transactionalId: null,
    acks: o.acks,
    timeoutMs: 30000,
    topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: PARTITION_SENTINEL, records: batch }] }],
  };
  const template = buildFrame(Produce, PRODUCE_V, req);
  // Where the partition index sits: the first occurrence of the sentinel (it precedes the records).
  let partAt = -1;
  for (let i = 12; i < template.length - 4; i++) {
    if (template[i] === 0x7a && template[i + 1] === 0xbc && template[i + 2] === 0xde && template[i + 3] === 0xf1) {
      partAt = i;
      break;
    }
  }
  check(partAt > 0, "partition field not found in the produce frame");
  const conns = await Promise.all(Array.from({ length: o.connections }, () => BenchConn.open(b.host, b.port)));
  let stopped = false;
  let nextPartition = 0;
  const setPartition = (f: Uint8Array, p: number) => {
    f[partAt] = p >>> 24;
    f[partAt + 1] = p >>> 16;
    f[partAt + 2] = p >>> 8;
    f[partAt + 3] = p;
  };
  const lanes: Promise<void>[] = [];
  for (const c of conns) {
    if (o.acks === 0) {
      // One shared frame: no responses, the correlation id does not matter.
      const frame = template.slice();
      lanes.push((async () => {
        while (!stopped && !c.closed) {
          setPartition(frame, nextPartition++ % o.partitions);
          const wait = c.sendNoResponse(frame);
          counters.bytes += batch.length;
          counters.records += records;
          counters.requests++;
          if (wait) await wait;
          else if ((counters.requests & 63) === 0) await new Promise((r) => setImmediate(r));
        }
      })());
      continue;
    }
    for (let l = 0; l < o.inflight; l++) {
      const frame = template.slice();
      lanes.push((async () => {
        while (!stopped) {
          setPartition(frame, nextPartition++ % o.partitions);
          const t = counters.rtts ? performance.now() : 0;
          const resp = await c.send(frame);
          const err = produceErrors(Produce, PRODUCE_V, resp);
          if (err !== 0) {
            counters.errors++;
            if (counters.errors < 5) console.error(`produce error ${err}`);
            continue;
          }
          if (counters.rtts) counters.rtts.push(performance.now() - t);
          counters.bytes += batch.length;
          counters.records += records;
          counters.requests++;
        }
      })());
    }
  }
  return {
    batchBytes: batch.length,
    recordsPerBatch: records,
    async stop() {
      stopped = true;
      if (o.acks === 0) {
        // A round trip on each connection: the broker answers in order, so everything before it was appended.
        await Promise.all(
          conns.map((c) => c.request(ApiVersions, 3, { clientSoftwareName: "bench", clientSoftwareVersion: "1" })),
        );
      }
      await Promise.all(lanes);
      for (const c of conns) c.close();
    },
  };
}

function snap(b: BrokerUnderTest, c: Counters): Snap {
  const cpu = cpuTimes(b.pid);
  return {
    t: performance.now(),
    brokerCpu: cpu === null ? null : cpu.user + cpu.system,
    brokerUser: cpu?.user ?? null,
    brokerFaults: cpu?.minorFaults ?? null,
    clientCpu: clientCpuMs(),
    bytes: c.bytes,
    records: c.records,
    requests: c.requests,
  };
}

function rates(a: Snap, z: Snap) {
  const s = (z.t - a.t) / 1000;
  const mb = (z.bytes - a.bytes) / 1e6;
  const brokerCpu = a.brokerCpu !== null && z.brokerCpu !== null ? z.brokerCpu - a.brokerCpu : null;
  return {
    seconds: +s.toFixed(2),
    mbPerSec: +(mb / s).toFixed(1),
    recordsPerSec: Math.round((z.records - a.records) / s),
    requestsPerSec: Math.round((z.requests - a.requests) / s),
    brokerCpuPct: brokerCpu === null ? null : +((brokerCpu / (z.t - a.t)) * 100).toFixed(0),
    brokerCpuMsPerMB: brokerCpu === null || mb === 0 ? null : +(brokerCpu / mb).toFixed(3),
    // User time alone: the broker's own code, without the kernel's copies into the page cache.
    brokerUserMsPerMB: a.brokerUser === null || z.brokerUser === null || mb === 0
      ? null
      : +((z.brokerUser - a.brokerUser) / mb).toFixed(3),
    // Minor page faults: memory new to the process (fresh buffers the allocator had to map or zero).
    brokerFaultsPerMB: a.brokerFaults === null || z.brokerFaults === null || mb === 0
      ? null
      : Math.round((z.brokerFaults - a.brokerFaults) / mb),
    clientCpuPct: +(((z.clientCpu - a.clientCpu) / (z.t - a.t)) * 100).toFixed(0),
  };
}

async function runProduce(b: BrokerUnderTest, o: Opts) {
  const topic = `bench-produce-${topicSeq++}`;
  await createTopic(b, topic, o.partitions);
  const counters: Counters = { bytes: 0, records: 0, requests: 0, errors: 0, rtts: [] };
  const load = await produceLoad(b, topic, o, counters);
  await sleep(o.warmup * 1000);
  counters.rtts = o.acks === 0 ? null : [];
  const a = snap(b, counters);
  const timeline: { mbPerSec: number; dirtyMB: number; writebackMB: number }[] = [];
  if (o.timeline) {
    for (let s = 0, last = counters.bytes; s < o.seconds; s++) {
      await sleep(1000);
      const cache = pageCacheMB();
      timeline.push({
        mbPerSec: +((counters.bytes - last) / 1e6).toFixed(1),
        dirtyMB: cache.dirty,
        writebackMB: cache.writeback,
      });
      last = counters.bytes;
    }
  } else {
    await sleep(o.seconds * 1000);
  }
  if (o.acks === 0) await load.stop();
  const z = snap(b, counters);
  if (o.acks !== 0) await load.stop();
  const rtts = (counters.rtts ?? []).sort((x, y) => x - y);
  return {
    mode: "produce",
    acks: o.acks,
    recordSize: o.recordSize,
    batchBytes: load.batchBytes,
    recordsPerBatch: load.recordsPerBatch,
    partitions: o.partitions,
    compression: o.compression,
    connections: o.connections,
    inflight: o.acks === 0 ? null : o.inflight,
    ...rates(a, z),
    errors: counters.errors,
    produceRttMs: rtts.length ? { p50: +pct(rtts, 0.5).toFixed(2), p99: +pct(rtts, 0.99).toFixed(2) } : null,
    peakRssMB: memMB(b.pid)?.peak ?? null,
    ...(o.timeline ? { timeline } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Consume

type PartCursor = { partition: number; offset: bigint; end: bigint };

function fetchFrame(topic: string, parts: PartCursor[], o: Opts, maxWaitMs: number): Uint8Array {
  const req: FetchRequest = {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs,
    minBytes: 1,
    maxBytes: o.fetchMaxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: parts.map((p) => ({
        partition: p.partition,
        currentLeaderEpoch: -1,
        fetchOffset: p.offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: o.partitionMaxBytes,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      })),
    }],
    forgottenTopicsData: [],
    rackId: "",
  };
  return buildFrame(Fetch, FETCH_V, req);
}

/** Walks the batch headers of a records blob: bytes, records and the offset after the last batch. */
function walkBatches(
  records: Uint8Array,
  onBatch?: (batch: Uint8Array) => void,
): { bytes: number; records: number; next: bigint | null } {
  let p = 0;
  let next: bigint | null = null;
  let count = 0;
  const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
  while (p + 61 <= records.length) {
    const size = dv.getInt32(p + 8) + 12;
    if (p + size > records.length) break; // partial trailing batch (not sent by Chronik, allowed by Kafka)
    next = dv.getBigInt64(p) + BigInt(dv.getInt32(p + 23)) + 1n;
    count += dv.getInt32(p + 57);
    onBatch?.(records.subarray(p, p + size));
    p += size;
  }
  return { bytes: p, records: count, next };
}

/** One consumer: fetches `parts` until each reaches its `end` (or `stop()`), one fetch in flight. */
async function consumer(
  b: BrokerUnderTest,
  topic: string,
  parts: PartCursor[],
  o: Opts,
  counters: Counters,
  until: () => boolean,
  onBatch?: (batch: Uint8Array) => void,
): Promise<void> {
  const c = await BenchConn.open(b.host, b.port);
  try {
    while (!until()) {
      const active = parts.filter((p) => p.offset < p.end);
      if (active.length === 0) break;
      const resp = await c.send(fetchFrame(topic, active, o, 500));
      const r = new Reader(resp);
      readResponseHeader(r, Fetch.key, FETCH_V);
      const res = decodeResponse(Fetch, FETCH_V, r);
      check(!res.errorCode, `fetch error ${res.errorCode}`);
      counters.requests++;
      for (const t of res.responses ?? []) {
        for (const pd of t.partitions ?? []) {
          check(!pd.errorCode, `fetch partition error ${pd.errorCode}`);
          const recs = pd.records;
          if (!recs || !(recs instanceof Uint8Array) || recs.length === 0) continue;
          const w = walkBatches(recs, onBatch);
          counters.bytes += w.bytes;
          counters.records += w.records;
          const cur = parts.find((p) => p.partition === pd.partitionIndex)!;
          if (w.next !== null) cur.offset = w.next;
        }
      }
    }
  } finally {
    c.close();
  }
}

function assign(o: Opts, ends: bigint[]): PartCursor[][] {
  const n = o.consumers;
  const out: PartCursor[][] = Array.from({ length: n }, () => []);
  if (o.fanout) {
    for (let c = 0; c < n; c++) {
      for (let p = 0; p < ends.length; p++) out[c].push({ partition: p, offset: 0n, end: ends[p] });
    }
  } else {
    for (let p = 0; p < ends.length; p++) out[p % n].push({ partition: p, offset: 0n, end: ends[p] });
  }
  return out.filter((x) => x.length > 0);
}

async function highWatermarks(b: BrokerUnderTest, topic: string, partitions: number, o: Opts): Promise<bigint[]> {
  const c = await BenchConn.open(b.host, b.port);
  const parts = Array.from({ length: partitions }, (_, p) => ({ partition: p, offset: 0n, end: 0n }));
  const resp = await c.send(fetchFrame(topic, parts, { ...o, partitionMaxBytes: 0, fetchMaxBytes: 0 }, 0));
  c.close();
  const r = new Reader(resp);
  readResponseHeader(r, Fetch.key, FETCH_V);
  const res = decodeResponse(Fetch, FETCH_V, r);
  const ends = new Array<bigint>(partitions).fill(0n);
  for (const t of res.responses ?? []) for (const p of t.partitions ?? []) ends[p.partitionIndex!] = p.highWatermark!;
  return ends;
}

async function runConsume(b: BrokerUnderTest, o: Opts) {
  const topic = `bench-consume-${topicSeq++}`;
  await createTopic(b, topic, o.partitions);
  // Preload with acks=1 produce.
  const pc: Counters = { bytes: 0, records: 0, requests: 0, errors: 0, rtts: null };
  const load = await produceLoad(b, topic, { ...o, acks: 1 }, pc);
  while (pc.bytes < o.preloadMB * 1e6) await sleep(50);
  await load.stop();
  const ends = await highWatermarks(b, topic, o.partitions, o);
  const results = [];
  for (let pass = 1; pass <= o.passes; pass++) {
    const counters: Counters = { bytes: 0, records: 0, requests: 0, errors: 0, rtts: null };
    const groups = assign(o, ends);
    const a = snap(b, counters);
    await Promise.all(groups.map((parts) => consumer(b, topic, parts, o, counters, () => false)));
    const z = snap(b, counters);
    results.push({
      mode: "consume",
      pass,
      recordSize: o.recordSize,
      partitions: o.partitions,
      consumers: groups.length,
      fanout: o.fanout,
      fetchMaxBytes: o.fetchMaxBytes,
      partitionMaxBytes: o.partitionMaxBytes,
      totalMB: +(counters.bytes / 1e6).toFixed(0),
      ...rates(a, z),
      fetchesPerSec: Math.round(counters.requests / ((z.t - a.t) / 1000)),
      peakRssMB: memMB(b.pid)?.peak ?? null,
    });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// End-to-end latency at a fixed rate

async function runLatency(b: BrokerUnderTest, o: Opts) {
  const topic = `bench-latency-${topicSeq++}`;
  await createTopic(b, topic, o.partitions);
  const prod = await BenchConn.open(b.host, b.port);
  const lat: number[] = [];
  const rtts: number[] = [];
  let measuring = false;
  let stopped = false;
  let produced = 0;
  let received = 0;
  // Consumer tails every partition from its current end.
  const ends = await highWatermarks(b, topic, o.partitions, o);
  const parts = ends.map((e, p) => ({ partition: p, offset: e, end: BigInt(Number.MAX_SAFE_INTEGER) }));
  const counters: Counters = { bytes: 0, records: 0, requests: 0, errors: 0, rtts: null };
  const cons = consumer(b, topic, parts, o, counters, () => stopped, (batch) => {
    const now = performance.now();
    for (const r of decodeRecords(batch).records) {
      received++;
      if (!measuring || !r.value) continue;
      lat.push(now - new DataView(r.value.buffer, r.value.byteOffset, 8).getFloat64(0, true));
    }
  });
  const value = randomValue(Math.max(8, o.recordSize), 3);
  const start = performance.now();
  let partition = 0;
  const inflight = new Set<Promise<void>>();
  const tick = () => {
    const now = performance.now();
    const due = Math.floor(((now - start) / 1000) * o.rate) - produced;
    if (due > 0) {
      const records = [];
      for (let i = 0; i < due; i++) {
        const v = value.slice();
        new DataView(v.buffer).setFloat64(0, now, true);
        records.push({ key: null, value: v });
      }
      produced += due;
      const batch = buildRecordBatch({ records });
      const frame = buildFrame(Produce, PRODUCE_V, {
        transactionalId: null,
        acks: o.acks === 0 ? 1 : o.acks,
        timeoutMs: 30000,
        topicData: [{
          name: topic,
          topicId: ZERO_UUID,
          partitionData: [{ index: partition++ % o.partitions, records: batch }],
        }],
      });
      const m = measuring;
      const p = prod.send(frame).then((resp) => {
        const err = produceErrors(Produce, PRODUCE_V, resp);
        if (err) counters.errors++;
        if (m) rtts.push(performance.now() - now);
      });
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    }
  };
  const timer = setInterval(tick, 1);
  await sleep(o.warmup * 1000);
  measuring = true;
  const cpu0 = cpuMs(b.pid);
  const t0 = performance.now();
  const produced0 = produced;
  await sleep(o.seconds * 1000);
  measuring = false;
  const cpu1 = cpuMs(b.pid);
  const t1 = performance.now();
  const producedN = produced - produced0;
  clearInterval(timer);
  await Promise.all(inflight);
  // Let the consumer catch the tail, then stop it.
  const deadline = performance.now() + 2000;
  while (received < produced && performance.now() < deadline) await sleep(10);
  stopped = true;
  await cons;
  prod.close();
  lat.sort((x, y) => x - y);
  rtts.sort((x, y) => x - y);
  const f = (x: number) => +x.toFixed(2);
  return {
    mode: "latency",
    rate: o.rate,
    achievedRate: Math.round(producedN / ((t1 - t0) / 1000)),
    recordSize: o.recordSize,
    partitions: o.partitions,
    acks: o.acks === 0 ? 1 : o.acks,
    samples: lat.length,
    e2eMs: {
      p50: f(pct(lat, 0.5)),
      p99: f(pct(lat, 0.99)),
      p999: f(pct(lat, 0.999)),
      max: f(lat[lat.length - 1] ?? NaN),
    },
    produceRttMs: { p50: f(pct(rtts, 0.5)), p99: f(pct(rtts, 0.99)), p999: f(pct(rtts, 0.999)) },
    brokerCpuPct: cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) / (t1 - t0)) * 100) : null,
    errors: counters.errors,
    lost: produced - received,
  };
}

// ---------------------------------------------------------------------------------------------
// Produce and consume together

async function runProduceConsume(b: BrokerUnderTest, o: Opts) {
  const topic = `bench-pc-${topicSeq++}`;
  await createTopic(b, topic, o.partitions);
  const pcount: Counters = { bytes: 0, records: 0, requests: 0, errors: 0, rtts: null };
  const ccount: Counters = { bytes: 0, records: 0, requests: 0, errors: 0, rtts: null };
  let stopped = false;
  const groups = assign(o, new Array<bigint>(o.partitions).fill(BigInt(Number.MAX_SAFE_INTEGER)));
  const consumers = groups.map((parts) => consumer(b, topic, parts, o, ccount, () => stopped));
  const load = await produceLoad(b, topic, o, pcount);
  await sleep(o.warmup * 1000);
  const a = snap(b, pcount);
  const ca = snap(b, ccount);
  await sleep(o.seconds * 1000);
  const z = snap(b, pcount);
  const cz = snap(b, ccount);
  await load.stop();
  stopped = true;
  await Promise.all(consumers);
  const pr = rates(a, z);
  const cr = rates(ca, cz);
  return {
    mode: "pc",
    acks: o.acks,
    recordSize: o.recordSize,
    partitions: o.partitions,
    consumers: groups.length,
    produceMBPerSec: pr.mbPerSec,
    produceRecordsPerSec: pr.recordsPerSec,
    consumeMBPerSec: cr.mbPerSec,
    consumeRecordsPerSec: cr.recordsPerSec,
    brokerCpuPct: pr.brokerCpuPct,
    clientCpuPct: pr.clientCpuPct,
    peakRssMB: memMB(b.pid)?.peak ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Cross-check with a real client (librdkafka through python3-confluent-kafka)

async function runRdkafka(b: BrokerUnderTest, o: Opts): Promise<Row> {
  const script = new URL("./rdkafka_check.py", import.meta.url).pathname;
  const messages = Math.round((o.preloadMB * 1e6) / o.recordSize);
  const cpu0 = cpuMs(b.pid);
  const { execFile } = await import("node:child_process");
  // Async, so the broker's log pipe keeps being drained meanwhile.
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      "/usr/bin/python3",
      [
        script,
        "--bootstrap",
        `${b.host}:${b.port}`,
        "--messages",
        String(messages),
        "--size",
        String(o.recordSize),
        "--partitions",
        String(o.partitions),
        "--acks",
        String(o.acks),
      ],
      { encoding: "utf8", maxBuffer: 1 << 24 },
      (err, out, errText) => (err ? reject(new Error(`rdkafka_check.py failed: ${errText}`)) : resolve(out)),
    );
  });
  const cpu1 = cpuMs(b.pid);
  const line = stdout.trim().split("\n").pop()!;
  return {
    ...JSON.parse(line),
    brokerCpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
    peakRssMB: memMB(b.pid)?.peak ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Runs

type Row = Record<string, unknown>;

function brokerArgs(o: Opts): string[] {
  const args: string[] = [];
  for (const kv of o.brokerOpts) args.push("-o", kv);
  if (o.dataDir) args.push("--data-dir", o.dataDir);
  return args;
}

async function withBroker<T>(
  kind: RuntimeKind,
  o: Opts,
  fn: (b: BrokerUnderTest, idle: { rss: number } | null) => Promise<T>,
): Promise<T> {
  const b = o.target ? externalBroker(o.target, o.pid) : await startBroker(kind, brokerArgs(o));
  try {
    await sleep(300);
    const m = memMB(b.pid);
    return await fn(b, m ? { rss: +m.rss.toFixed(1) } : null);
  } finally {
    await b.stop();
  }
}

const emitted: Row[] = [];
function emit(kind: string, row: Row, o: Opts): void {
  const full = { runtime: kind, ...(o.label ? { label: o.label } : {}), ...row };
  emitted.push(full);
  console.log(JSON.stringify(full));
}

async function runMode(kind: RuntimeKind, mode: string, o: Opts): Promise<void> {
  if (mode === "startup") {
    const times: number[] = [];
    const idle: number[] = [];
    for (let i = 0; i < o.repeat; i++) {
      const b = await startBroker(kind, brokerArgs(o));
      times.push(b.startMs!);
      await sleep(1000);
      idle.push(memMB(b.pid)?.rss ?? NaN);
      await b.stop();
    }
    const st = [...times].sort((x, y) => x - y);
    emit(kind, {
      mode: "startup",
      repeat: o.repeat,
      startMs: { median: +pct(st, 0.5).toFixed(1), min: +st[0].toFixed(1), max: +st[st.length - 1].toFixed(1) },
      idleRssMB: +Math.max(...idle).toFixed(1),
    }, o);
    return;
  }
  await withBroker(kind, o, async (b, idle) => {
    const extra = { idleRssMB: idle?.rss ?? null };
    switch (mode) {
      case "produce":
        emit(kind, { ...(await runProduce(b, o)), ...extra }, o);
        break;
      case "consume":
        for (const r of await runConsume(b, o)) emit(kind, { ...r, ...extra }, o);
        break;
      case "latency":
        emit(kind, { ...(await runLatency(b, o)), ...extra }, o);
        break;
      case "pc":
        emit(kind, { ...(await runProduceConsume(b, o)), ...extra }, o);
        break;
      case "rdkafka":
        emit(kind, { mode: "rdkafka", ...(await runRdkafka(b, o)), ...extra }, o);
        break;
      default:
        throw new Error(`unknown mode ${mode}`);
    }
  });
}

/** The issue's targets, in the order of the README table. */
const SUITE: { name: string; mode: string; over: Partial<Opts> }[] = [
  { name: "produce 1 KiB acks=1", mode: "produce", over: { acks: 1, recordSize: 1024 } },
  { name: "produce 100 B acks=1", mode: "produce", over: { acks: 1, recordSize: 100 } },
  {
    name: "produce 1 KiB acks=all (group-commit fsync), 16 in flight per connection",
    mode: "produce",
    over: { acks: -1, recordSize: 1024, inflight: 16 },
  },
  {
    name: "produce 1 KiB acks=1, 100 partitions",
    mode: "produce",
    over: { acks: 1, recordSize: 1024, partitions: 100 },
  },
  { name: "consume from the beginning", mode: "consume", over: { recordSize: 1024 } },
  { name: "end-to-end latency 10k rec/s", mode: "latency", over: { rate: 10000, recordSize: 100 } },
  { name: "produce and consume together, 1 KiB acks=1", mode: "pc", over: { acks: 1, recordSize: 1024 } },
  { name: "startup", mode: "startup", over: {} },
];

async function main() {
  const o = parseArgs(process.argv.slice(2));
  await prepareCompression();
  const load = loadavg();
  if (!o.json) {
    console.log(
      `# machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${
        (totalmem() / 2 ** 30).toFixed(0)
      } GiB RAM; generator on ${
        typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`
      }; load average at start ${load.map((x) => x.toFixed(2)).join(" ")}`,
    );
  }
  const kinds: RuntimeKind[] = o.target ? ["external" as RuntimeKind] : o.runtimes;
  for (const kind of kinds) {
    if (o.mode === "suite") {
      for (const s of SUITE) {
        if (o.target && s.mode === "startup") continue;
        await runMode(kind, s.mode, { ...o, ...s.over, label: s.name });
      }
    } else {
      for (const mode of o.mode.split(",")) await runMode(kind, mode, o);
    }
  }
  if (!o.json) printTable();
}

function summary(r: Row): string {
  const n = (x: unknown) => (typeof x === "number" ? x.toLocaleString("en-US") : String(x));
  switch (r.mode) {
    case "produce":
      return `${n(r.mbPerSec)} MB/s, ${n(r.recordsPerSec)} rec/s, cpu ${n(r.brokerCpuMsPerMB)} ms/MB, peak ${
        n(Math.round(r.peakRssMB as number))
      } MB`;
    case "consume":
      return `${n(r.mbPerSec)} MB/s (pass ${r.pass}), cpu ${n(r.brokerCpuMsPerMB)} ms/MB`;
    case "latency": {
      const e = r.e2eMs as Record<string, number>;
      const p = r.produceRttMs as Record<string, number>;
      return `p50 ${e.p50} / p99 ${e.p99} / p999 ${e.p999} ms (produce rtt p50 ${p.p50})`;
    }
    case "pc":
    case "rdkafka":
      return `in ${n(r.produceMBPerSec)} MB/s, out ${n(r.consumeMBPerSec)} MB/s`;
    case "startup": {
      const s = r.startMs as Record<string, number>;
      return `${s.median} ms (median of ${r.repeat}), idle RSS ${r.idleRssMB} MB`;
    }
  }
  return JSON.stringify(r);
}

function printTable(): void {
  const runtimes = [...new Set(emitted.map((r) => String(r.runtime)))];
  const keys: string[] = [];
  const cell = new Map<string, string>();
  for (const r of emitted) {
    const k = String(r.label ?? `${r.mode}`);
    if (!keys.includes(k)) keys.push(k);
    cell.set(`${k}|${r.runtime}`, summary(r)); // later rows (e.g. consume pass 2) win
  }
  console.log("");
  console.log(`| run | ${runtimes.join(" | ")} |`);
  console.log(`| --- | ${runtimes.map(() => "---").join(" | ")} |`);
  for (const k of keys) console.log(`| ${k} | ${runtimes.map((rt) => cell.get(`${k}|${rt}`) ?? "").join(" | ")} |`);
}

await main();
process.exit(0);
