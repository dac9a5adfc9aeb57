// Schema-driven fuzzing: every API that ApiVersions advertises, at every advertised version, gets
// many requests whose field values come from the generated message tables (tests/fuzz/schema_gen.ts:
// odd strings, boundary integers, nulls where nullable, empty and large arrays, zero and random
// UUIDs, random bytes and valid record batches in `records`). Every request is well-formed, so:
// - no handler throws: the broker never logs an "error" line ("<Api> failed for ...");
// - no connection closes (no documented reason applies: PLAINTEXT listener, no test hooks);
// - every response decodes at its version; SaslHandshake and SaslAuthenticate answer ILLEGAL_SASL_STATE;
// - afterwards a fresh client still gets ApiVersions and Metadata answered.
// Once against a memory broker, once against one with a data dir (the file engine's paths differ).
//
// Reproducible: CHRONIK_FUZZ_SEED (default 1) and CHRONIK_FUZZ_ITERS (default 60 requests per API
// version and broker) are printed; each request's value depends only on (seed, api, version,
// iteration), and on the ids seedState got from the broker. CHRONIK_FUZZ_ONLY=Name or Name:version narrows the run. One connection per API
// version runs its requests in order, in pipelined bursts of 1-4; a request not answered within
// 400 ms is parked in the broker (a JoinGroup waiting for its rebalance, a Fetch long poll; acks=0
// Produce has no answer at all): the client drops that connection and carries on with a new one.
// Other APIs have no reason to wait: their connection stays open and every answer must arrive within
// 10 s (a handler whose promise never settles fails the run).
// Not generated on purpose: broker config names that limit connections or frame sizes and client
// quota keys are not among the hint strings (a random AlterConfigs/AlterClientQuotas could then set
// max.connections=0 or a 1 byte/s quota for everyone and stall the run); random strings still
// reach those handlers with every other name.
import { afterAll, beforeAll, describe as group, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { APIS } from "../../src/protocol/messages/index.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import { SyncGroup } from "../../src/protocol/messages/14_sync_group.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { ConsumerGroupHeartbeat } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { describe, Gen, type Hints, mixSeed, Rng } from "./schema_gen.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const SEED = Number(process.env.CHRONIK_FUZZ_SEED ?? 1);
const ITERS = Number(process.env.CHRONIK_FUZZ_ITERS ?? 60);
const ONLY = process.env.CHRONIK_FUZZ_ONLY ?? "";
const PARK_MS = 400;
/** Wait legitimately: long polls, rebalances, acks=0 (no answer), fsync of acks=-1, group joins. */
const MAY_WAIT = new Set(["Fetch", "JoinGroup", "SyncGroup", "Produce", "ConsumerGroupHeartbeat"]);
/** Any other request must be answered within this, however slowly. */
const HANG_MS = 10_000;
/** No SASL on this listener: both must answer ILLEGAL_SASL_STATE, whatever the request says. */
const SASL_APIS = new Set(["SaslHandshake", "SaslAuthenticate"]);

const HINT_STRINGS = [
  "fuzz",
  "fuzz-compact",
  "__consumer_offsets",
  "__transaction_state",
  "g-fuzz",
  "cg-fuzz",
  "t-fuzz",
  "consumer",
  "range",
  "uniform",
  "roundrobin",
  "PLAIN",
  "SCRAM-SHA-256",
  "SCRAM-SHA-512",
  "OAUTHBEARER",
  "retention.ms",
  "cleanup.policy",
  "max.message.bytes",
  "segment.bytes",
  "min.insync.replicas",
  "message.timestamp.type",
  "compression.type",
  "retention.bytes",
  "num.partitions",
  "log.retention.ms",
  "auto.create.topics.enable",
  "group.version",
  "transaction.version",
  "root",
  "kafka.server.KafkaApis",
  "1",
  "-1",
  "0",
  "compact",
  "delete",
  "compact,delete",
  "LogAppendTime",
  "gzip",
  "zstd",
  "DEBUG",
  "9223372036854775807",
  ".*",
  "fuzz.*",
  "[",
  "User:alice",
  "User:*",
  "*",
  "127.0.0.1",
  "alice",
  "0",
];

/**
 * State for generated requests to run into: records in "fuzz", a classic group g-fuzz with a member
 * at a generation, a consumer-protocol group cg-fuzz, a transaction of t-fuzz on fuzz-0 and an
 * idempotent producer. Their member ids, producer ids, epochs and generations join the hints.
 */
async function seedState(c: WireClient, hints: Hints) {
  const records = buildRecordBatch({ records: [{ key: "k", value: "v" }, { key: null, value: "w" }] });
  for (let i = 0; i < 3; i++) {
    await c.send(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: "fuzz", topicId: ZERO_UUID, partitionData: [0, 1, 2].map((index) => ({ index, records })) }],
    });
  }
  const join = (memberId: string) =>
    c.send(JoinGroup, 5, {
      groupId: "g-fuzz",
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 30000,
      memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(0) }],
      reason: null,
    });
  let j = await join("");
  if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await join(j.memberId!);
  await c.send(SyncGroup, 3, {
    groupId: "g-fuzz",
    generationId: j.generationId!,
    memberId: j.memberId!,
    groupInstanceId: null,
    protocolType: "consumer",
    protocolName: "range",
    assignments: [{ memberId: j.memberId!, assignment: new Uint8Array(0) }],
  });
  const hb = await c.send(ConsumerGroupHeartbeat, 0, {
    groupId: "cg-fuzz",
    memberId: "",
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30000,
    subscribedTopicNames: ["fuzz"],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
  });
  const txn = await c.send(InitProducerId, 2, initProducerIdRequest("t-fuzz", 60000));
  const topics = [{ name: "fuzz", partitions: [0] }];
  await c.send(AddPartitionsToTxn, 3, {
    transactions: [],
    v3AndBelowTransactionalId: "t-fuzz",
    v3AndBelowProducerId: txn.producerId!,
    v3AndBelowProducerEpoch: txn.producerEpoch!,
    v3AndBelowTopics: topics,
  });
  const idem = await c.send(InitProducerId, 2, initProducerIdRequest(null, 60000));
  hints.strings.push(j.memberId!, hb.memberId ?? "");
  hints.int32s.push(j.generationId!, hb.memberEpoch!, txn.producerEpoch!, idem.producerEpoch!);
  hints.int64s.push(txn.producerId!, idem.producerId!);
}

type Failure = { api: string; version: number; iter: number; reason: string; request: string };

async function fuzz(broker: Broker & { lines: string[] }, label: string, dataDir: string | null) {
  const port = broker.port;
  const setup = await WireClient.connect(port);
  await setup.send(CreateTopics, 4, {
    topics: [
      { name: "fuzz", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] },
      {
        name: "fuzz-compact",
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: "cleanup.policy", value: "compact" }],
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const md = await setup.send(Metadata, 12, {
    topics: null,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const hints: Hints = {
    strings: [...HINT_STRINGS, ...(dataDir ? [dataDir] : [])],
    uuids: md.topics!.map((t) => t.topicId!),
    int64s: [],
    int32s: [],
  };
  await seedState(setup, hints);
  const versions = await setup.send(ApiVersions, 3, { clientSoftwareName: "fuzz", clientSoftwareVersion: "1" });
  setup.close();

  const failures: Failure[] = [];
  let sent = 0;
  let parked = 0;
  const parkedBy = new Map<string, number>();
  const slow: { api: string; version: number; iter: number; req: unknown; answered: Promise<string> }[] = [];
  const work: Promise<void>[] = [];
  for (const k of versions.apiKeys!) {
    const api = APIS.get(k.apiKey!);
    if (!api) {
      failures.push({
        api: `key ${k.apiKey}`,
        version: -1,
        iter: -1,
        reason: "advertised but not in the message tables",
        request: "",
      });
      continue;
    }
    for (let v = k.minVersion!; v <= k.maxVersion!; v++) {
      if (ONLY && ONLY !== api.name && ONLY !== `${api.name}:${v}`) continue;
      work.push((async () => {
        let c = await WireClient.connect(port);
        for (let i = 0; i < ITERS;) {
          // Bursts of 1-4 pipelined requests: answers must come back in order, each one decoding.
          const burst = Math.min(ITERS - i, 1 + (mixSeed(SEED, api.key, v, i, 0xb) % 4));
          const sends: Promise<void>[] = [];
          const answers: { iter: number; req: unknown; answered: Promise<string> }[] = [];
          let reconnect = false;
          let stalled = false;
          for (const iter of Array.from({ length: burst }, (_, k) => i + k)) {
            const gen = new Gen(new Rng(mixSeed(SEED, api.key, v, iter)), hints);
            const req = gen.request(api.request, v);
            // The header's client id too: null, empty, odd and long strings (quotas and logs read it).
            const clientId = gen.clientId();
            const conn = c;
            sent++;
            const answered = conn.send(api, v, req as never, clientId).then(
              (res) =>
                SASL_APIS.has(api.name) && (res as { errorCode: number }).errorCode !== ErrorCode.ILLEGAL_SASL_STATE
                  ? `${api.name} on a PLAINTEXT listener answered ${
                    (res as { errorCode: number }).errorCode
                  }, not ILLEGAL_SASL_STATE`
                  : "ok",
              (e: Error) => conn.isClosed ? "closed" : `response did not decode: ${e.message}`,
            );
            answers.push({ iter, req, answered });
            let timer: ReturnType<typeof setTimeout> | undefined;
            sends.push(
              Promise.race([
                answered,
                new Promise<string>((resolve) => (timer = setTimeout(() => resolve("parked"), PARK_MS))),
              ]).then((outcome) => {
                clearTimeout(timer);
                if (outcome === "parked") {
                  parked++;
                  parkedBy.set(api.name, (parkedBy.get(api.name) ?? 0) + 1);
                  stalled = true;
                } else if (outcome !== "ok") {
                  failures.push({ api: api.name, version: v, iter, reason: outcome, request: describe(req) });
                }
                if (outcome !== "ok") {
                  reconnect = true;
                }
              }),
            );
          }
          await Promise.all(sends);
          i += burst;
          if (reconnect) {
            // An API with no reason to wait keeps its connection: its answers must still come (hang check below).
            if (stalled && !MAY_WAIT.has(api.name)) {
              const conn = c;
              slow.push(...answers.map((a) => ({ ...a, api: api.name, version: v })));
              void Promise.all(answers.map((a) => a.answered)).then(() => conn.close());
            } else c.close();
            c = await WireClient.connect(port);
          }
        }
        c.close();
      })());
    }
  }
  await Promise.all(work);

  // Requests that were slow to answer without a reason to wait must still be answered.
  const late = await Promise.all(
    slow.map((a) => Promise.race([a.answered, new Promise<string>((r) => setTimeout(() => r("no answer"), HANG_MS))])),
  );
  slow.forEach((a, k) => {
    if (late[k] !== "ok") {
      failures.push({
        api: a.api,
        version: a.version,
        iter: a.iter,
        reason: `${late[k]} (within ${HANG_MS} ms)`,
        request: describe(a.req),
      });
    }
  });

  // The broker still serves a new client.
  const control = await WireClient.connect(port);
  const av = await control.send(ApiVersions, 0, {} as never);
  expect(av.errorCode).toBe(0);
  const md2 = await control.send(Metadata, 1, {
    topics: null,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  expect(md2.brokers!.length).toBe(1);
  control.close();

  const errors = broker.lines.filter((l) =>
    l.startsWith("error ") || l.includes("failed for") || (l.startsWith("warn ") && l.includes("closing connection"))
  );
  console.log(
    `fuzz ${label}: seed=${SEED} iterations=${ITERS} requests=${sent} parked=${parked} failures=${failures.length} broker errors=${errors.length}`,
  );
  console.log(`  parked by api: ${[...parkedBy].sort((a, b) => b[1] - a[1]).map(([n, k]) => `${n} ${k}`).join(", ")}`);
  for (const f of failures.slice(0, 15)) {
    console.log(`  ${f.api} v${f.version} iter ${f.iter}: ${f.reason}\n    ${f.request}`);
  }
  for (const e of errors.slice(0, 15)) console.log(`  ${e.split("\n").slice(0, 4).join("\n    ")}`);
  expect({
    failures: failures.map((f) => `${f.api} v${f.version} iter ${f.iter}: ${f.reason}`),
    errors: errors.map((e) => e.split("\n")[0]),
  }).toEqual({ failures: [], errors: [] });
}

group(`schema fuzz (seed ${SEED}, ${ITERS} iterations)`, () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "chronik-fuzz-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("memory broker", async () => {
    const broker = await testBroker();
    try {
      await fuzz(broker, "memory", null);
    } finally {
      await broker.close();
    }
  }, 180_000); // CPU-bound (~35 s alone); npm test runs it beside other files

  test("file broker (data dir)", async () => {
    const broker = await testBroker({ dataDir: dir });
    try {
      await fuzz(broker, "file", dir);
    } finally {
      await broker.close();
    }
  }, 180_000); // CPU-bound (~35 s alone); npm test runs it beside other files
});
