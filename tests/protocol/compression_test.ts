import { describe, expect, test } from "bun:test";
import { compress, CompressionError, decompress, prepareCompression } from "../../src/protocol/compression/index.ts";
import { isXerial, snappyCompressRaw, snappyCompressXerial } from "../../src/protocol/compression/snappy.ts";
import { xxh32 } from "../../src/protocol/compression/lz4.ts";
import { zstdCompressStored, zstdEncoderLoaded } from "../../src/protocol/compression/zstd.ts";
import { GOLDEN, GOLDEN_PLAIN } from "./compression_golden.ts";
// kafkajs's own gzip codec (Node zlib underneath): an independent implementation to check against.
// @ts-ignore CommonJS without types
import kafkajsGzip from "kafkajs/src/protocol/message/compression/gzip.js";

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function inputs(): Uint8Array[] {
  const random = new Uint8Array(200_000);
  let x = 12345;
  for (let i = 0; i < random.length; i++) random[i] = (x = (Math.imul(x, 1103515245) + 12345) | 0) >>> 24;
  const text = enc("the quick brown fox jumps over the lazy dog ".repeat(5000));
  return [new Uint8Array(0), enc("a"), enc("hello"), text, random, new Uint8Array(300_000).fill(7)];
}

function python(script: string, input: Uint8Array): Uint8Array | null {
  const r = Bun.spawnSync(["/usr/bin/python3", "-c", script], { stdin: input });
  if (r.exitCode !== 0) throw new Error(`python failed: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

function hasPython(): boolean {
  try {
    const r = Bun.spawnSync(["/usr/bin/python3", "-c", "import snappy, lz4.frame, zstandard, kafka.codec"]);
    return r.exitCode === 0;
  } catch {
    return false;
  }
}
const PY = hasPython();

describe("compression", () => {
  for (const codec of [0, 1, 2, 3, 4]) {
    test(`round trip, codec ${codec}`, () => {
      for (const data of inputs()) {
        const c = compress(codec, data);
        expect(toHex(decompress(codec, c))).toBe(toHex(data));
      }
    });
  }

  test("zstd: stored (raw/RLE) encoder before prepareCompression, real zstd after", async () => {
    const text = enc("zstd text ".repeat(10_000));
    const stored = zstdCompressStored(text);
    expect(toHex(decompress(4, stored))).toBe(toHex(text));
    expect(zstdCompressStored(new Uint8Array(500_000).fill(1)).length).toBeLessThan(30); // RLE blocks
    await prepareCompression();
    expect(zstdEncoderLoaded()).toBe(true);
    const real = compress(4, text);
    expect(real.length).toBeLessThan(200);
    expect(toHex(decompress(4, real))).toBe(toHex(text));
  });

  test("golden vectors written by other implementations decode", () => {
    for (const [name, [codec, h]] of Object.entries(GOLDEN)) {
      const out = decompress(codec, hex(h));
      expect(new TextDecoder().decode(out), name).toBe(GOLDEN_PLAIN);
    }
    expect(isXerial(hex(GOLDEN.snappy_xerial_kafka_python[1]))).toBe(true);
  });

  test("lz4: header checksum written the broken pre-KIP-57 way is accepted; a wrong one is not", () => {
    const good = hex(GOLDEN.lz4_kafka_python[1]);
    const flg = good[4];
    const descEnd = 4 + 2 + (flg & 0x08 ? 8 : 0);
    const broken = good.slice();
    broken[descEnd] = (xxh32(broken, 0, descEnd) >>> 8) & 0xff; // hashed from the magic on
    expect(broken[descEnd]).not.toBe(good[descEnd]);
    expect(new TextDecoder().decode(decompress(3, broken))).toBe(GOLDEN_PLAIN);
    const wrong = good.slice();
    wrong[descEnd] ^= 0x5a;
    expect(() => decompress(3, wrong)).toThrow(CompressionError);
  });

  test("xxh32 known values", () => {
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    expect(xxh32(enc("abc"))).toBe(0x32d153ff);
    expect(xxh32(enc("Nobody inspects the spammish repetition"))).toBe(0xe2293b2f);
  });

  test("snappy: raw and xerial are both read", () => {
    const data = enc("snappy ".repeat(20_000));
    expect(toHex(decompress(2, snappyCompressRaw(data)))).toBe(toHex(data));
    const x = snappyCompressXerial(data);
    expect(isXerial(x)).toBe(true);
    expect(toHex(decompress(2, x))).toBe(toHex(data));
  });

  test("kafkajs gzip reads ours and we read kafkajs gzip", async () => {
    const data = enc("kafkajs ".repeat(3000));
    const theirs: Uint8Array = await kafkajsGzip.compress({ buffer: data });
    expect(toHex(decompress(1, new Uint8Array(theirs)))).toBe(toHex(data));
    const back: Uint8Array = await kafkajsGzip.decompress(Buffer.from(compress(1, data)));
    expect(toHex(new Uint8Array(back))).toBe(toHex(data));
  });

  test.skipIf(!PY)(
    "python (gzip, snappy, kafka.codec xerial, lz4.frame, zstandard) reads what we write and vice versa",
    async () => {
      await prepareCompression();
      const data = enc("interop payload ".repeat(9000) + "tail");
      const readers: Record<number, string> = {
        1: "import sys,gzip; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))",
        2: "import sys,kafka.codec as k; sys.stdout.buffer.write(k.snappy_decode(sys.stdin.buffer.read()))",
        3: "import sys,lz4.frame as f; sys.stdout.buffer.write(f.decompress(sys.stdin.buffer.read()))",
        4: "import sys,zstandard as z; sys.stdout.buffer.write(z.ZstdDecompressor().decompressobj().decompress(sys.stdin.buffer.read()))",
      };
      for (const [codec, script] of Object.entries(readers)) {
        expect(toHex(python(script, compress(Number(codec), data))!), `codec ${codec}`).toBe(toHex(data));
      }
      expect(toHex(python(readers[4], zstdCompressStored(data))!)).toBe(toHex(data));
      expect(toHex(python(readers[2], snappyCompressRaw(data))!)).toBe(toHex(data));
      const writers: [number, string][] = [
        [1, "import sys,gzip; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read()))"],
        [2, "import sys,snappy; sys.stdout.buffer.write(snappy.compress(sys.stdin.buffer.read()))"],
        [
          2,
          "import sys,kafka.codec as k; sys.stdout.buffer.write(k.snappy_encode(sys.stdin.buffer.read(), xerial_compatible=True))",
        ],
        [
          3,
          "import sys,lz4.frame as f; sys.stdout.buffer.write(f.compress(sys.stdin.buffer.read(), block_linked=True, content_checksum=True, block_checksum=True))",
        ],
        [3, "import sys,kafka.codec as k; sys.stdout.buffer.write(k.lz4_encode(sys.stdin.buffer.read()))"],
        [
          4,
          "import sys,zstandard as z; sys.stdout.buffer.write(z.ZstdCompressor(level=19, write_content_size=False).compress(sys.stdin.buffer.read()))",
        ],
        [4, "import sys,kafka.codec as k; sys.stdout.buffer.write(k.zstd_encode(sys.stdin.buffer.read()))"],
      ];
      for (const [codec, script] of writers) {
        expect(toHex(decompress(codec, python(script, data)!)), script).toBe(toHex(data));
      }
    },
  );

  test("bombs: every codec stops at maxSize with CompressionError", async () => {
    await prepareCompression();
    const big = new Uint8Array(32 << 20);
    for (const codec of [0, 1, 2, 3, 4]) {
      const c = compress(codec, big);
      let err: unknown;
      try {
        decompress(codec, c, 1 << 20);
      } catch (e) {
        err = e;
      }
      expect(err, `codec ${codec}`).toBeInstanceOf(CompressionError);
    }
    // a zstd frame that declares a 1 GiB window is refused before anything is allocated
    const frame = hex("28b52ffd" + "00" + "a0" + "010000"); // window descriptor: 2^(10+20)
    expect(() => decompress(4, frame, 1 << 20)).toThrow(/window/);
  });

  test("garbage and truncations raise CompressionError only", () => {
    const data = enc("truncate me ".repeat(2000));
    for (const codec of [1, 2, 3, 4]) {
      const c = compress(codec, data);
      for (let cut = 0; cut < c.length; cut += Math.max(1, c.length >> 6)) {
        try {
          decompress(codec, c.subarray(0, cut));
        } catch (e) {
          expect(e, `codec ${codec} cut ${cut}`).toBeInstanceOf(CompressionError);
        }
      }
      for (let i = 0; i < c.length; i += Math.max(1, c.length >> 6)) {
        const f = c.slice();
        f[i] ^= 0xff;
        try {
          decompress(codec, f);
        } catch (e) {
          expect(e, `codec ${codec} flip ${i}`).toBeInstanceOf(CompressionError);
        }
      }
    }
    expect(() => decompress(9, new Uint8Array(1))).toThrow(CompressionError);
  });
});
