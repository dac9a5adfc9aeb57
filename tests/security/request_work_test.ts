// Issue #14.7: one request must not take the broker's memory or stall every other client. A request
// with more than chronik.request.max.entries array entries (100,000) closes its connection before its
// entries are built; requests just under the bound are served while another client keeps being served.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { decodeResponse, ZERO_UUID } from "../../src/protocol/codec.ts";
import { readResponseHeader } from "../../src/protocol/header.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { Api } from "../../src/protocol/schema.ts";
import { frameReader } from "../helpers/frames.ts";
import { httpBase } from "../helpers/http.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import {
  type BrokerProcess,
  closedWithin,
  createTopic,
  fetchBody,
  frame,
  MiB,
  rssBytes,
  sampler,
  startBroker,
  startProbe,
  WireClient,
} from "./harness.ts";

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker({}, ["--http-port", "0"]);
  const c = await WireClient.connect(broker.port);
  expect((await createTopic(c, "probe")).errorCode).toBe(ErrorCode.NONE);
  expect((await createTopic(c, "t")).errorCode).toBe(ErrorCode.NONE);
  c.close();
});
afterAll(async () => {
  await broker?.stop();
});

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" }, () => resolve(s));
    s.on("error", () => {});
  });
}

async function underAttack<T>(attack: () => Promise<T>) {
  const pid = broker.proc.pid;
  const rss0 = rssBytes(pid);
  const probe = await startProbe(broker.port, "probe");
  const peaks = sampler(pid);
  await Bun.sleep(600);
  const result = await attack();
  await Bun.sleep(1200);
  const { rss } = peaks.stop();
  const served = await probe.stop();
  console.log(`probe: ${served.completed} rounds, slowest ${served.slowestMs.toFixed(0)} ms`);
  expect(served.failures).toEqual([]);
  expect(served.completed).toBeGreaterThan(1);
  return { result, rssGrowth: rss - rss0 };
}

describe("bounded work per request", () => {
  test("a Produce with a million empty topic entries closes its connection; memory bounded", async () => {
    const body = {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: Array.from({ length: 1_000_000 }, () => ({ name: "", topicId: ZERO_UUID, partitionData: [] })),
    };
    const bytes = frame(Produce, 9, body);
    const { result, rssGrowth } = await underAttack(async () => {
      const c = await WireClient.connect(broker.port);
      c.writeRaw(bytes);
      return await closedWithin(c, 10_000);
    });
    expect(result).toBe(true);
    expect(rssGrowth).toBeLessThan(150 * MiB);
    expect(broker.logs()).toContain("chronik.request.max.entries");
  }, 60_000);

  test("a Fetch naming a million partitions closes its connection", async () => {
    const one = fetchBody("t", 0, 0n);
    const body = {
      ...one,
      topics: [{ ...one.topics[0], partitions: Array(1_000_000).fill(one.topics[0].partitions[0]) }],
    };
    const bytes = frame(Fetch, 11, body);
    const { result } = await underAttack(async () => {
      const c = await WireClient.connect(broker.port);
      c.writeRaw(bytes);
      return await closedWithin(c, 10_000);
    });
    expect(result).toBe(true);
  }, 60_000);

  test("requests just under the bound are answered while others are served", async () => {
    // Frames are built before and responses decoded after the probe runs: the probe shares this
    // process's event loop, and what it measures must be the broker.
    const one = fetchBody("t", 0, 0n, 1024);
    const frames = [
      frame(Fetch, 11, {
        ...one,
        topics: [{
          ...one.topics[0],
          partitions: Array.from({ length: 90_000 }, (_, i) => ({ ...one.topics[0].partitions[0], partition: i })),
        }],
      }, 1),
      frame(ListOffsets, 5, {
        replicaId: -1,
        isolationLevel: 0,
        timeoutMs: 5000,
        topics: [{
          name: "t",
          partitions: Array.from(
            { length: 90_000 },
            (_, i) => ({ partitionIndex: i, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }),
          ),
        }],
      }, 2),
      frame(Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: Array.from(
          { length: 90_000 },
          (_, i) => ({ name: `missing-${i}`, topicId: ZERO_UUID, partitionData: [] }),
        ),
      }, 3),
    ];
    const { result } = await underAttack(async () => {
      const s = await rawSocket(broker.port);
      const got: Uint8Array[] = [];
      const done = new Promise<void>((resolve) => {
        s.on(
          "data",
          frameReader((f) => {
            got.push(f);
            if (got.length === 3) resolve();
          }),
        );
      });
      for (const f of frames) s.write(f);
      await done;
      s.destroy();
      return got;
    });
    const decode = <S>(api: Api<unknown, S>, version: number, f: Uint8Array): S => {
      const r = new Reader(f);
      readResponseHeader(r, api.key, version);
      return decodeResponse(api, version, r);
    };
    const f = decode(Fetch, 11, result[0]);
    const lo = decode(ListOffsets, 5, result[1]);
    const p = decode(Produce, 9, result[2]);
    expect(f.responses!.reduce((n, t) => n + t.partitions!.length, 0)).toBe(90_000);
    expect(lo.topics![0].partitions!.length).toBe(90_000);
    expect(p.responses!.length).toBe(90_000);
  }, 90_000);

  test("a REST produce of 5 million records is refused (at most 10,000 per call) and others are served", async () => {
    const base = await httpBase(broker.logs);
    const body = `{"records":[${Array(5_000_000).fill("{}").join(",")}]}`;
    const { result, rssGrowth } = await underAttack(async () => {
      const r = await fetch(`${base}/v1/topics/t/records`, {
        method: "POST",
        headers: { "content-type": "application/vnd.kafka.json.v2+json" },
        body,
      });
      return { status: r.status, text: await r.text() };
    });
    console.log(`REST 5M records: rss +${(rssGrowth / MiB).toFixed(0)} MiB`);
    expect(result.status).toBe(422);
    expect(result.text).toContain("at most 10000");
    // Parsing the 10 MB body is the cost left; nothing is built from its 5 million entries.
    expect(rssGrowth).toBeLessThan(1024 * MiB);
  }, 60_000);
});
