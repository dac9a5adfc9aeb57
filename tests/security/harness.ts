// Shared pieces of the attack tests: the broker runs as a child process (so its RSS and descriptors
// can be read from /proc), a probe client produces and fetches every 0.5 s on its own connection
// while an attack runs, and frames are built with the generated codec.
import { readdirSync, readFileSync } from "node:fs";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { encodeRequest, ZERO_UUID } from "../../src/protocol/codec.ts";
import { writeRequestHeader } from "../../src/protocol/header.ts";
import type { Api } from "../../src/protocol/schema.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { concatChunks, Writer } from "../../src/protocol/writer.ts";
import { type BrokerProcess, type RuntimeKind, startBrokerProcess } from "../e2e/harness.ts";
import { WireClient } from "../helpers/wire_client.ts";

export { WireClient };
export type { BrokerProcess };

const enc = new TextEncoder();

/**
 * The broker as a child process (under Bun; CHRONIK_SECURITY_RUNTIME=deno|node|binary picks another
 * for a manual run), with these `-o name=value` configs.
 */
export function startBroker(configs: Record<string, string> = {}, extra: string[] = []): Promise<BrokerProcess> {
  const args = [...extra, "--log-level", "info"];
  for (const [k, v] of Object.entries(configs)) args.push("-o", `${k}=${v}`);
  const kind = (process.env.CHRONIK_SECURITY_RUNTIME ?? "bun") as RuntimeKind;
  return startBrokerProcess(kind, args);
}

/**
 * The port of a listener other than the first from the broker's log ("listener NAME listening on
 * host:port"); the first one is `b.port`.
 */
export async function listenerPort(b: BrokerProcess, name: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const m = new RegExp(`listener ${name} listening on [^:]+:(\\d+)`).exec(b.logs());
    if (m) return Number(m[1]);
    await Bun.sleep(50);
  }
  throw new Error(`no listener ${name} in the logs:\n${b.logs()}`);
}

/** Resident memory of a process in bytes (/proc/PID/status VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Open descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Samples the broker's RSS and descriptors every 100 ms; `stop()` returns the peaks. */
export function sampler(pid: number) {
  let rss = rssBytes(pid);
  let fds = fdCount(pid);
  const t = setInterval(() => {
    try {
      rss = Math.max(rss, rssBytes(pid));
      fds = Math.max(fds, fdCount(pid));
    } catch { /* exited */ }
  }, 100);
  return {
    stop() {
      clearInterval(t);
      return { rss, fds };
    },
  };
}

export function frame<Q>(api: Api<Q, unknown>, version: number, body: Q, correlationId = 1): Uint8Array {
  const w = new Writer();
  w.int32(0);
  writeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: "attacker" });
  encodeRequest(api, version, body, w);
  w.patchInt32(0, w.length - 4);
  return concatChunks(w.finish());
}

export async function createTopic(c: WireClient, name: string, partitions = 1, configs: Record<string, string> = {}) {
  const r = await c.send(CreateTopics, 5, {
    topics: [{
      name,
      numPartitions: partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return r.topics![0];
}

export function produceBody(topic: string, partition: number, values: Uint8Array[], acks = 1) {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{
      name: topic,
      topicId: ZERO_UUID,
      partitionData: [{
        index: partition,
        records: buildRecordBatch({ records: values.map((value) => ({ key: null, value, timestamp: Date.now() })) }),
      }],
    }],
  };
}

export function fetchBody(topic: string, partition: number, offset: bigint, maxBytes = 1 << 20) {
  return {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition,
        currentLeaderEpoch: -1,
        fetchOffset: offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: maxBytes,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        highWatermark: 9223372036854775807n,
      }],
    }],
    forgottenTopicsData: [],
    rackId: "",
  };
}

/**
 * Another client, on its own connection, producing one record and fetching it back every 0.5 s.
 * `stop()` reports how many rounds completed and any that failed; a round that has not completed
 * within `roundTimeoutMs` counts as failed (the broker stopped serving others). `slowestMs` is for
 * the log only: tests assert service, not speed.
 */
export async function startProbe(port: number, topic: string, roundTimeoutMs = 15_000) {
  const c = await WireClient.connect(port);
  let completed = 0;
  let slowestMs = 0;
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const round = (async () => {
        const p = await c.send(Produce, 9, produceBody(topic, 0, [enc.encode(`probe-${completed}`)]));
        const pr = p.responses![0].partitionResponses![0];
        if (pr.errorCode !== ErrorCode.NONE) throw new Error(`probe produce error ${pr.errorCode}`);
        const f = await c.send(Fetch, 11, fetchBody(topic, 0, pr.baseOffset!, 4096));
        const fr = f.responses![0].partitions![0];
        if (fr.errorCode !== ErrorCode.NONE || !fr.records || fr.records.length === 0) {
          throw new Error(`probe fetch error ${fr.errorCode}`);
        }
      })();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`probe round not served within ${roundTimeoutMs} ms`)),
          roundTimeoutMs,
        );
      });
      const started = performance.now();
      try {
        await Promise.race([round, timeout]);
        completed++;
        slowestMs = Math.max(slowestMs, performance.now() - started);
      } catch (e) {
        failures.push(String(e));
        round.catch(() => {});
        break;
      } finally {
        clearTimeout(timer);
      }
      await Bun.sleep(500);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      c.close();
      return { completed, failures, slowestMs };
    },
  };
}

/** Resolves once the connection is closed by the broker, or with false after `ms`. */
export function closedWithin(c: WireClient, ms: number): Promise<boolean> {
  return Promise.race([c.closed.then(() => true), Bun.sleep(ms).then(() => false)]);
}

export const MiB = 1024 * 1024;
