// Captures request frames from real clients for tests/protocol/golden/.
//   bun scripts/capture_golden.ts
// Starts a tiny TCP listener that answers ApiVersions, Metadata and Produce with hand-made
// responses (encoded by our own codec), records every request frame, and drives:
//   - kafkajs (node_modules/kafkajs): connect, send one message to "golden-topic";
//   - kcat/librdkafka (/usr/bin/kcat): `-L` (metadata listing) and `-P` (produce one message).
// Writes tests/protocol/golden/<client>.json: { client, note, frames: [{ apiKey, apiVersion, hex }] }.
import { createServer, type Socket } from "node:net";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeResponse } from "../src/protocol/codec.ts";
import { readRequestHeader, writeResponseHeader } from "../src/protocol/header.ts";
import {
  API_LIST,
  APIS,
  ApiVersions,
  FindCoordinator,
  JoinGroup,
  Metadata,
  Produce,
  SyncGroup,
} from "../src/protocol/messages/index.ts";
import type {
  FindCoordinatorRequest,
  JoinGroupRequest,
  MetadataRequest,
  ProduceRequest,
  SyncGroupRequest,
} from "../src/protocol/messages/index.ts";
import { decodeRequest } from "../src/protocol/codec.ts";
import { Reader } from "../src/protocol/reader.ts";
import { concatChunks, Writer } from "../src/protocol/writer.ts";
import type { Api } from "../src/protocol/schema.ts";
import { frameReader } from "../tests/helpers/frames.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const goldenDir = join(root, "tests", "protocol", "golden");
const TOPIC = "golden-topic";
const TOPIC_ID = "R29sZGVuVG9waWNJZDAxMg"; // 16 arbitrary bytes, base64url

type Frame = { apiKey: number; apiVersion: number; hex: string };
let frames: Frame[] = [];
let port = 0;
let syncSeen: (() => void) | undefined;

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function respond(sock: Socket, api: Api, version: number, correlationId: number, body: unknown) {
  const w = new Writer();
  w.int32(0);
  writeResponseHeader(w, api.key, version, correlationId);
  encodeResponse(api, version, body, w);
  w.patchInt32(0, w.length - 4);
  sock.write(concatChunks(w.finish()));
}

function answer(sock: Socket, frame: Uint8Array) {
  const r = new Reader(frame);
  const h = readRequestHeader(r);
  frames.push({ apiKey: h.apiKey, apiVersion: h.apiVersion, hex: toHex(frame) });
  const api = APIS.get(h.apiKey);
  if (!api) return;
  if (h.apiKey === ApiVersions.key) {
    // Advertise everything (as a real broker would) so clients pick their usual versions and
    // feature sets (librdkafka only uses record batch v2 when Produce v3+ AND Fetch v4+ exist).
    const known = API_LIST.map((a) => ({
      ...a,
      versions: [a.versions[0], a.versions[1] - (a.latestVersionUnstable ? 1 : 0)],
    }));
    // A version we do not know: answer v0 with UNSUPPORTED_VERSION as a broker would.
    const v = Math.min(h.apiVersion, ApiVersions.versions[1]);
    respond(sock, ApiVersions, v, h.correlationId, {
      errorCode: h.apiVersion > ApiVersions.versions[1] ? 35 : 0,
      apiKeys: known.map((a) => ({ apiKey: a.key, minVersion: a.versions[0], maxVersion: a.versions[1] })),
    });
  } else if (h.apiKey === Metadata.key) {
    const req = decodeRequest(Metadata, h.apiVersion, r) as MetadataRequest;
    const names = req.topics === null || req.topics.length === 0 ? [TOPIC] : req.topics.map((t) => t.name ?? TOPIC);
    respond(sock, Metadata, h.apiVersion, h.correlationId, {
      brokers: [{ nodeId: 1, host: "127.0.0.1", port, rack: null }],
      clusterId: "golden-cluster",
      controllerId: 1,
      topics: names.map((name) => ({
        errorCode: 0,
        name,
        topicId: TOPIC_ID,
        isInternal: false,
        partitions: [{
          errorCode: 0,
          partitionIndex: 0,
          leaderId: 1,
          leaderEpoch: 0,
          replicaNodes: [1],
          isrNodes: [1],
          offlineReplicas: [],
        }],
      })),
    });
  } else if (h.apiKey === FindCoordinator.key) {
    const req = decodeRequest(FindCoordinator, h.apiVersion, r) as FindCoordinatorRequest;
    respond(sock, FindCoordinator, h.apiVersion, h.correlationId, {
      nodeId: 1,
      host: "127.0.0.1",
      port,
      coordinators: req.coordinatorKeys.map((key) => ({ key, nodeId: 1, host: "127.0.0.1", port })),
    });
  } else if (h.apiKey === JoinGroup.key) {
    const req = decodeRequest(JoinGroup, h.apiVersion, r) as JoinGroupRequest;
    const proto = req.protocols[0];
    respond(sock, JoinGroup, h.apiVersion, h.correlationId, {
      generationId: 1,
      protocolType: req.protocolType,
      protocolName: proto.name,
      leader: "member-1",
      memberId: "member-1",
      members: [{ memberId: "member-1", groupInstanceId: null, metadata: proto.metadata }],
    });
  } else if (h.apiKey === SyncGroup.key) {
    const req = decodeRequest(SyncGroup, h.apiVersion, r) as SyncGroupRequest;
    syncSeen?.();
    respond(sock, SyncGroup, h.apiVersion, h.correlationId, {
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignment: req.assignments[0]?.assignment ?? new Uint8Array(0),
    });
  } else if (h.apiKey === Produce.key) {
    const req = decodeRequest(Produce, h.apiVersion, r) as ProduceRequest;
    if (req.acks === 0) return;
    respond(sock, Produce, h.apiVersion, h.correlationId, {
      responses: req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0n })),
      })),
    });
  }
}

function onConn(sock: Socket) {
  sock.on(
    "data",
    frameReader((frame) => {
      try {
        answer(sock, frame);
      } catch (e) {
        console.error("answer failed:", e);
        sock.destroy();
      }
    }),
  );
  sock.on("error", () => {});
}

const server = createServer(onConn);
await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
port = (server.address() as { port: number }).port;

function save(name: string, client: string, note: string) {
  writeFileSync(join(goldenDir, `${name}.json`), JSON.stringify({ client, note, frames }, null, 1) + "\n");
  console.log(`${name}: ${frames.length} frames (${frames.map((f) => `${f.apiKey}v${f.apiVersion}`).join(" ")})`);
  frames = [];
}

// kafkajs
{
  const { Kafka, logLevel } = await import("kafkajs");
  const version = JSON.parse(readFileSync(join(root, "node_modules", "kafkajs", "package.json"), "utf8")).version;
  const kafka = new Kafka({
    clientId: "golden-kafkajs",
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic: TOPIC, acks: 1, messages: [{ key: "k1", value: "hello from kafkajs" }] });
  await producer.disconnect();
  save(
    "kafkajs",
    `kafkajs ${version}`,
    "producer.connect(); send(golden-topic, key k1, value 'hello from kafkajs'); clientId golden-kafkajs",
  );
}

// kafkajs consumer: up to SyncGroup (JoinGroup carries ConsumerProtocolSubscription bytes,
// SyncGroup the leader's ConsumerProtocolAssignment).
{
  const { Kafka, logLevel } = await import("kafkajs");
  const version = JSON.parse(readFileSync(join(root, "node_modules", "kafkajs", "package.json"), "utf8")).version;
  const kafka = new Kafka({
    clientId: "golden-kafkajs",
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const consumer = kafka.consumer({ groupId: "golden-group", allowAutoTopicCreation: false });
  const synced = new Promise<void>((res) => (syncSeen = res));
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  consumer.run({ eachMessage: async () => {} }).catch(() => {});
  await Promise.race([synced, new Promise((res) => setTimeout(res, 10000))]);
  await new Promise((res) => setTimeout(res, 200));
  syncSeen = undefined;
  await consumer.disconnect().catch(() => {});
  // Keep frames up to and including SyncGroup only (later ones depend on timing).
  const sync = frames.findIndex((f) => f.apiKey === SyncGroup.key);
  if (sync >= 0) frames = frames.slice(0, sync + 1);
  save(
    "kafkajs_consumer",
    `kafkajs ${version}`,
    "consumer groupId golden-group, subscribe golden-topic, run(): frames up to SyncGroup; clientId golden-kafkajs",
  );
}

function kcat(args: string[], input?: string): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn("kcat", args, { stdio: ["pipe", "ignore", "inherit"] });
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
    const t = setTimeout(() => p.kill(), 15000);
    p.on("exit", () => {
      clearTimeout(t);
      res();
    });
    p.on("error", rej);
  });
}

const kcatVersion = await new Promise<string>((res) => {
  const p = spawn("kcat", ["-V"]);
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.on("exit", () => res((/Version (\S+).*librdkafka (\S+)/.exec(out) ?? []).slice(1).join(" / librdkafka ")));
});

await kcat(["-b", `127.0.0.1:${port}`, "-L", "-X", "client.id=golden-kcat"]);
save("kcat_metadata", `kcat ${kcatVersion}`, "kcat -L -X client.id=golden-kcat");

await kcat(
  ["-b", `127.0.0.1:${port}`, "-P", "-t", TOPIC, "-p", "0", "-X", "client.id=golden-kcat", "-K", ":"],
  "k2:hello from kcat\n",
);
save(
  "kcat_produce",
  `kcat ${kcatVersion}`,
  "echo 'k2:hello from kcat' | kcat -P -t golden-topic -p 0 -K : -X client.id=golden-kcat",
);

server.close();
