// Finds the multiple of the CRC32C polynomial that src/protocol/crc32c.ts folds with:
//   bun scripts/crc_fold_relation.ts [chunk bits]
// A relation 1 + x^(g e_1) + ... + x^(g d) = 0 (mod P) with six terms, all exponents multiples
// of the chunk size g (128 bits: one v128), and d as small as possible. Fewer terms mean fewer loads
// per folded chunk; a smaller d means less left over for the table loop. Meet in the middle: the
// sums of two residues x^(g e) mod P are kept in a map, and for each d the other terms are tried
// against it. Six terms over 128-bit chunks give d = 209 (a 3,344-byte residue); four
// would need d near 3,000, eight give d = 79 but load more per chunk (measured slower for 64 KiB).
const P = 0x1edc6f41; // x^32 implied
const g = Number(process.argv[2] ?? 128);

/** v * x^n mod P, normal (unreflected) bit order. */
function mulx(v: number, n: number): number {
  for (let i = 0; i < n; i++) v = v & 0x80000000 ? ((v << 1) ^ P) >>> 0 : (v << 1) >>> 0;
  return v;
}

const LIMIT = 1000;
const r: number[] = [1];
for (let j = 1; j < LIMIT; j++) r.push(mulx(r[j - 1], g));

const pairs = new Map<number, [number, number]>(); // r[a] ^ r[b] -> [a, b], a < b < d - 2
for (let d = 4; d < LIMIT; d++) {
  const c2 = d - 3;
  for (let b = 1; b < c2; b++) {
    const key = (r[b] ^ r[c2]) >>> 0;
    if (!pairs.has(key)) pairs.set(key, [b, c2]);
  }
  for (let e = 2; e < d; e++) {
    for (let c = e + 1; c < d; c++) {
      const hit = pairs.get((r[d] ^ 1 ^ r[c] ^ r[e]) >>> 0);
      if (hit !== undefined && hit[1] < e) {
        const terms = [0, ...hit, e, c, d];
        console.log(`terms (x^(${g} e)): ${terms.join(", ")}`);
        console.log(
          `fold offsets in chunks (d - e): ${terms.slice(0, -1).map((t) => d - t).sort((x, y) => x - y).join(", ")}`,
        );
        process.exit(0);
      }
    }
  }
}
console.log(`none below ${LIMIT}`);
