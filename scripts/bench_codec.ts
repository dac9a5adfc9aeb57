// Codec micro-benchmark (not a test): decode of a Produce request and encode of a Fetch response.
//   bun scripts/bench_codec.ts      deno run scripts/bench_codec.ts
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, ZERO_UUID } from "../src/protocol/codec.ts";
import { Fetch, type FetchResponse, Produce, type ProduceRequest } from "../src/protocol/messages/index.ts";
import { Reader } from "../src/protocol/reader.ts";
import { concatChunks, Writer } from "../src/protocol/writer.ts";

function bench(name: string, fn: () => void, ms = 1000): void {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    now = performance.now();
  }
  const perSec = (n / (now - start)) * 1000;
  console.log(
    `${name.padEnd(48)} ${Math.round(perSec).toLocaleString("en-US").padStart(12)} ops/s  ${
      (1e6 / perSec).toFixed(2)
    } µs/op`,
  );
}

const batch = (size: number) => new Uint8Array(size).fill(0x61);

for (const version of [7, 9, 11]) {
  const produce: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [
      {
        name: "bench-topic-a",
        topicId: ZERO_UUID,
        partitionData: [0, 1, 2].map((index) => ({ index, records: batch(1024) })),
      },
      { name: "bench-topic-b", topicId: ZERO_UUID, partitionData: [{ index: 0, records: batch(200) }] },
    ],
  };
  const w = new Writer();
  encodeRequest(Produce, version, produce, w);
  const bytes = concatChunks(w.finish());
  bench(`Produce v${version} request decode (4 partitions)`, () => {
    decodeRequest(Produce, version, new Reader(bytes));
  });
  bench(`Produce v${version} request encode`, () => {
    const w = new Writer(256);
    encodeRequest(Produce, version, produce, w);
    w.finish();
  });
}

for (const version of [11, 12, 16]) {
  const stored = [batch(4096), batch(4096), batch(512)];
  const fetch: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{
      topic: "bench-topic-a",
      topicId: "R29sZGVuVG9waWNJZDAxMg",
      partitions: [0, 1, 2, 3].map((partitionIndex) => ({
        partitionIndex,
        errorCode: 0,
        highWatermark: 1000n,
        lastStableOffset: 1000n,
        logStartOffset: 0n,
        abortedTransactions: null,
        records: stored,
      })),
    }],
  };
  bench(`Fetch v${version} response encode (4 partitions × 3 chunks)`, () => {
    const w = new Writer(512);
    w.int32(0);
    encodeResponse(Fetch, version, fetch, w);
    w.patchInt32(0, w.length - 4);
    w.finish();
  });
  const w = new Writer();
  encodeResponse(Fetch, version, fetch, w);
  const bytes = concatChunks(w.finish());
  bench(`Fetch v${version} response decode`, () => {
    decodeResponse(Fetch, version, new Reader(bytes));
  });
}
