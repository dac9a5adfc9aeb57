// Throughput of the CRC32C variants in src/protocol/crc32c.ts, on whatever runtime runs it:
//   bun scripts/bench_crc32c.ts
//   deno run scripts/bench_crc32c.ts
//   bun build --target=node scripts/bench_crc32c.ts --outfile /tmp/b.mjs && node /tmp/b.mjs
// Prints MB/s per variant and size; the winner is what `crc32c` is bound to.
import { crc32cJs, crc32cWasm } from "../src/protocol/crc32c.ts";

type Fn = (b: Uint8Array, s?: number, e?: number) => number;

// Reference: byte-wise table, to show what slicing buys.
const T0 = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T0[i] = c;
}
function crc32cBytewise(b: Uint8Array, s = 0, e = b.length): number {
  let c = -1;
  for (let i = s; i < e; i++) c = T0[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const variants: [string, Fn][] = [
  ["js slicing-by-8", crc32cJs],
  ["wasm (fold, then four lanes)", crc32cWasm],
  ["js bytewise", crc32cBytewise],
];

function bench(fn: Fn, size: number, offset: number): number {
  const buf = new Uint8Array(size + 8);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
  const totalBytes = 256 << 20;
  const iters = Math.max(1, Math.floor(totalBytes / size));
  let sink = 0;
  // warm-up
  for (let i = 0; i < Math.min(iters, 2000); i++) sink ^= fn(buf, offset, offset + size);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) sink ^= fn(buf, offset, offset + size);
  const ms = performance.now() - t0;
  if (sink === 0x12345678) console.log("");
  return (iters * size) / 1e6 / (ms / 1000);
}

const check = new TextEncoder().encode("123456789");
for (const [name, fn] of variants) {
  if (fn(check) !== 0xe3069283) throw new Error(`${name} is wrong`);
}
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
console.log(`runtime: ${runtime}`);
for (const size of [64, 1024, 16384, 65536, 1 << 20]) {
  const row = variants.map(([name, fn]) => `${name} ${bench(fn, size, 1).toFixed(0)}`);
  console.log(`size ${String(size).padStart(7)} (MB/s): ${row.join(" | ")}`);
}
