// A frame of 1 MiB or more is copied into its own buffer as it arrives once half of it is there
// (connection.ts `filling`), instead of in one copy when its last byte comes (issue #14: a
// near-limit request held the event loop for the copy). Its bytes must come out exactly as sent
// whatever the chunking: the size alone in a chunk, odd chunk sizes, the next frame starting in the
// chunk that ends it, and chunks lent by the runtime and overwritten after data() returns (Deno).
import { describe, expect, test } from "bun:test";
import { startBroker } from "../../src/broker/broker.ts";
import { decodeResponse } from "../../src/protocol/codec.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { readResponseHeader } from "../../src/protocol/header.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { buildRecordBatch, decodeRecords } from "../../src/protocol/record_batch.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { Api } from "../../src/protocol/schema.ts";
import type { Conn } from "../../src/runtime.ts";
import { memoryRuntime } from "../../src/runtime/memory.ts";
import { frameReader } from "../helpers/frames.ts";
import { fetchBody, frame, produceBody } from "../security/harness.ts";

const MiB = 1 << 20;

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("large frames filled as they arrive", () => {
  for (const lend of [false, true]) {
    test(`3 MiB and 1 MiB Produces among small ones, in odd chunks${lend ? " (lent chunks)" : ""}`, async () => {
      const rt = memoryRuntime({ lendChunks: lend });
      const broker = await startBroker(rt, { host: "127.0.0.1", port: 0, logLevel: "info", dataDir: "/d" });
      const conn = rt.connect(broker.port);
      const replies = new Map<number, Uint8Array>();
      let wake: (() => void) | null = null;
      conn.ondata = frameReader((f) => {
        replies.set(new DataView(f.buffer, f.byteOffset).getInt32(0), f);
        wake?.();
      });
      const answered = async <S>(api: Api<unknown, S>, version: number, id: number): Promise<S> => {
        while (!replies.has(id)) await new Promise<void>((r) => (wake = r));
        const r = new Reader(replies.get(id)!);
        readResponseHeader(r, api.key, version);
        return decodeResponse(api, version, r);
      };
      conn.write(frame(CreateTopics, 5, {
        topics: [{
          name: "big",
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: "max.message.bytes", value: String(8 * MiB) }],
        }],
        timeoutMs: 5000,
        validateOnly: false,
      }, 1));
      expect(
        (await answered(CreateTopics as Api<unknown, { topics?: { errorCode?: number }[] }>, 5, 1)).topics![0]
          .errorCode,
      )
        .toBe(ErrorCode.NONE);

      const values = [pattern(3 * MiB, 1), new Uint8Array([1, 2, 3]), pattern(MiB + 7, 2), new Uint8Array([4])];
      const frames = values.map((v, i) => frame(Produce, 9, produceBody("big", 0, [v]), i + 2));
      const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of frames) {
        all.set(f, at);
        at += f.length;
      }
      // The first size alone, then odd chunks: some end a large frame and start the next one.
      conn.write(all.subarray(0, 4));
      for (let i = 4; i < all.length; i += 77_777) conn.write(all.subarray(i, Math.min(i + 77_777, all.length)));
      const offsets: bigint[] = [];
      for (let i = 0; i < values.length; i++) {
        const r = await answered(
          Produce as Api<
            unknown,
            { responses?: { partitionResponses?: { errorCode?: number; baseOffset?: bigint }[] }[] }
          >,
          9,
          i + 2,
        );
        const p = r.responses![0].partitionResponses![0];
        expect(p.errorCode).toBe(ErrorCode.NONE);
        offsets.push(p.baseOffset!);
      }
      expect(offsets).toEqual([0n, 1n, 2n, 3n]);
      // Read back: every byte as sent.
      const got: Uint8Array[] = [];
      for (let id = 100; got.length < values.length; id++) {
        conn.write(frame(Fetch, 11, fetchBody("big", 0, BigInt(got.length), 8 * MiB), id));
        const f = await answered(
          Fetch as Api<unknown, { responses?: { partitions?: { records?: Uint8Array | null }[] }[] }>,
          11,
          id,
        );
        const recs = f.responses![0].partitions![0].records!;
        let pos = 0;
        while (pos < recs.length) {
          const len = new DataView(recs.buffer, recs.byteOffset + pos + 8).getInt32(0);
          for (const r of decodeRecords(recs.subarray(pos, pos + 12 + len)).records) got.push(r.value!);
          pos += 12 + len;
        }
      }
      for (let i = 0; i < values.length; i++) expect(Buffer.compare(got[i], values[i])).toBe(0);
      conn.close();
      await broker.close();
    }, 30_000);
  }
});

test("a large frame completed while responses are not read waits for them to be read", async () => {
  // A runtime whose connections still deliver bytes after pause(), as an adapter may deliver a chunk
  // it had already read: the connection must hold the frame itself.
  const rt = memoryRuntime();
  let paused: () => void = () => {};
  const pausedOnce = new Promise<void>((r) => (paused = r));
  const laggy = {
    ...rt,
    listen: (o: Parameters<typeof rt.listen>[0], accept: Parameters<typeof rt.listen>[1]) =>
      rt.listen(o, (conn) =>
        accept({
          get remoteAddress() {
            return conn.remoteAddress;
          },
          get remotePort() {
            return conn.remotePort;
          },
          write: (c, sent) => conn.write(c, sent),
          drained: () => conn.drained(),
          pause: () => paused(),
          resume: () => conn.resume(),
          close: () => conn.close(),
        } as Conn)),
  };
  const broker = await startBroker(laggy, { host: "127.0.0.1", port: 0, logLevel: "info", dataDir: "/d" });
  /** One request on a connection of its own; resolves once it is answered. */
  const roundTrip = async <Q>(api: Api<Q, unknown>, version: number, body: Q) => {
    const c = rt.connect(broker.port);
    let answered: () => void = () => {};
    const done = new Promise<void>((r) => (answered = r));
    c.ondata = frameReader(() => answered());
    c.write(frame(api, version, body, 1));
    await done;
    c.close();
  };
  await roundTrip(CreateTopics, 5, {
    topics: [{
      name: "held",
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: "max.message.bytes", value: String(4 * MiB) }],
    }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const produced = () => broker.services.metrics.requests[Produce.key];

  const conn = rt.connect(broker.port);
  // Two MiB to fetch back: more than the connection's send queue holds while the client reads nothing.
  conn.write(frame(Produce, 9, produceBody("held", 0, [pattern(2 * MiB, 3)]), 1));
  const replies: Uint8Array[] = [];
  conn.ondata = frameReader((f) => replies.push(f));
  while (replies.length < 1) await new Promise((r) => setTimeout(r, 1));
  conn.pause();
  // A Fetch, then 60% of a 1.5 MiB Produce (its buffer taken at once), then, once the Fetch's answer
  // has filled the send queue, the rest of it.
  const big = frame(Produce, 9, produceBody("held", 0, [pattern(MiB + MiB / 2, 4)]), 3);
  const cut = Math.floor(big.length * 0.6);
  const before = produced();
  conn.write(frame(Fetch, 11, fetchBody("held", 0, 0n, 8 * MiB), 2));
  conn.write(big.subarray(0, cut));
  await pausedOnce;
  conn.write(big.subarray(cut));
  // A round trip on another connection: the rest was delivered by then.
  await roundTrip(CreateTopics, 5, { topics: [], timeoutMs: 5000, validateOnly: false });
  expect(produced()).toBe(before);
  // Responses read again: the Produce goes through, answered after the Fetch.
  conn.resume();
  while (replies.length < 3) await new Promise((r) => setTimeout(r, 1));
  expect(produced()).toBe(before + 1);
  expect(replies.map((f) => new DataView(f.buffer, f.byteOffset).getInt32(0))).toEqual([1, 2, 3]);
  conn.close();
  await broker.close();
}, 30_000);
