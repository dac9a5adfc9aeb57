// What one request near socket.request.max.bytes (100 MiB) costs the connection loop (issue #14: a
// near-limit request took ~0.4 s "to decode"), not a test. The broker runs in this process on the
// in-memory runtime (no sockets, no disk, so a loaded machine disturbs the numbers less); a ~99 MiB
// Produce frame is written in 64 KiB chunks as a socket would deliver them, Bun-style (fresh chunks)
// and Deno-style (lent chunks). Reported, best of N: the longest single Connection.data() call (how
// long the event loop was held at once: every other client waits that long) and the time of all of
// them together, up to the handler's first await (decode, CRC, record checks).
//   bun scripts/bench_big_request.ts [rounds=5]
import { startBroker } from "../src/broker/broker.ts";
import { Connection } from "../src/broker/connection.ts";
import { Produce } from "../src/protocol/messages/00_produce.ts";
import { CreateTopics } from "../src/protocol/messages/19_create_topics.ts";
import { buildRecordBatch } from "../src/protocol/record_batch.ts";
import { memoryRuntime } from "../src/runtime/memory.ts";
import { frame } from "../tests/security/harness.ts";
import { ZERO_UUID } from "../src/protocol/codec.ts";

const MiB = 1 << 20;
const CHUNK = 64 * 1024;
const rounds = Number(process.argv[2] ?? 5);

// Times every data() call of the connection loop.
let longest = 0;
let total = 0;
const proto = Connection.prototype as unknown as { data: (chunk: Uint8Array, borrowed?: boolean) => void };
const data = proto.data;
proto.data = function (this: Connection, chunk: Uint8Array, borrowed?: boolean) {
  const t = performance.now();
  data.call(this, chunk, borrowed);
  const d = performance.now() - t;
  longest = Math.max(longest, d);
  total += d;
};

for (const lend of [false, true]) {
  const rt = memoryRuntime({ lendChunks: lend });
  const broker = await startBroker(rt, { host: "127.0.0.1", port: 0, logLevel: "warn" });
  const client = rt.connect(broker.port);
  const replies: Uint8Array[] = [];
  let wake: (() => void) | null = null;
  client.ondata = (c) => {
    replies.push(c);
    wake?.();
  };
  const roundTrip = async (bytes: Uint8Array) => {
    replies.length = 0;
    const got = new Promise<void>((r) => (wake = r));
    for (let at = 0; at < bytes.length; at += CHUNK) client.write(bytes.subarray(at, at + CHUNK));
    await got;
  };
  await roundTrip(frame(CreateTopics, 5, {
    topics: [{
      name: "big",
      numPartitions: 1,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: "max.message.bytes", value: String(110 * MiB) }],
    }],
    timeoutMs: 5000,
    validateOnly: false,
  }));
  const shapes: [string, Uint8Array][] = [
    [
      "one record of 99 MiB",
      buildRecordBatch({ records: [{ key: null, value: new Uint8Array(99 * MiB), timestamp: Date.now() }] }),
    ],
    [
      "99,000 records of 1000 B",
      buildRecordBatch({
        records: Array.from(
          { length: 99_000 },
          () => ({ key: null, value: new Uint8Array(1000), timestamp: Date.now() }),
        ),
      }),
    ],
  ];
  for (const [name, records] of shapes) {
    const bytes = frame(Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: "big", topicId: ZERO_UUID, partitionData: [{ index: 0, records }] }],
    });
    let bestLongest = Infinity;
    let bestTotal = Infinity;
    for (let i = 0; i < rounds; i++) {
      longest = 0;
      total = 0;
      await roundTrip(bytes);
      bestLongest = Math.min(bestLongest, longest);
      bestTotal = Math.min(bestTotal, total);
    }
    console.log(
      `${lend ? "lent " : "fresh"} chunks, ${name.padEnd(26)} ${(bytes.length / MiB).toFixed(1)} MiB: ` +
        `longest data() ${bestLongest.toFixed(1)} ms, all data() ${bestTotal.toFixed(1)} ms`,
    );
  }
  await broker.close();
}
