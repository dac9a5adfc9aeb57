// The FileSystem contract (src/runtime.ts), runner-agnostic so the same cases run under bun test
// (memory, node:fs in Bun) and in child processes under real Node and Deno (child_lib.ts).
import type { FileSystem } from "../../src/runtime.ts";

export type FsCase = { name: string; run(fs: FileSystem, dir: string): Promise<void> };

function fail(msg: string): never {
  throw new Error(msg);
}
function eq(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual, (_k, v) => (v instanceof Uint8Array ? [...v] : v));
  const e = JSON.stringify(expected, (_k, v) => (v instanceof Uint8Array ? [...v] : v));
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}
async function rejectsWith(p: Promise<unknown>, code: string, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    eq((e as { code?: string }).code, code, `${what} error code`);
    return;
  }
  fail(`${what}: expected rejection with ${code}`);
}
const bytes = (...xs: number[]) => new Uint8Array(xs);
const text = (s: string) => new TextEncoder().encode(s);

export const FS_CONTRACT: FsCase[] = [
  {
    name: "open of a missing file without create is ENOENT; create in a missing directory too",
    async run(fs, dir) {
      await rejectsWith(fs.open(`${dir}/nope`), "ENOENT", "open");
      await rejectsWith(fs.open(`${dir}/no/such/dir/f`, { create: true }), "ENOENT", "open create");
    },
  },
  {
    name: "append, size and positional reads; short read only at the end",
    async run(fs, dir) {
      const f = await fs.open(`${dir}/a.log`, { create: true });
      eq(await f.size(), 0, "new size");
      await f.append(bytes(1, 2, 3));
      await f.append(bytes(4, 5));
      eq(await f.size(), 5, "size");
      eq(await f.read(0, 5), bytes(1, 2, 3, 4, 5), "read all");
      eq(await f.read(2, 2), bytes(3, 4), "read middle");
      eq(await f.read(3, 10), bytes(4, 5), "read past end");
      eq(await f.read(5, 4), bytes(), "read at end");
      eq(await f.read(50, 4), bytes(), "read beyond end");
      await f.close();
    },
  },
  {
    name: "readInto fills the caller's buffer, short only at the end; bytes past what was read are left alone",
    async run(fs, dir) {
      const f = await fs.open(`${dir}/into.log`, { create: true });
      await f.append(bytes(1, 2, 3, 4, 5));
      const buf = new Uint8Array(4).fill(9);
      eq(await f.readInto(1, buf), 4, "full read");
      eq(buf, bytes(2, 3, 4, 5), "full read bytes");
      buf.fill(9);
      eq(await f.readInto(3, buf), 2, "read past end");
      eq(buf, bytes(4, 5, 9, 9), "short read bytes");
      eq(await f.readInto(5, buf), 0, "read at end");
      eq(await f.readInto(50, buf), 0, "read beyond end");
      const big = new Uint8Array(300_000);
      const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
      await f.append(data);
      const view = big.subarray(1000, 201_000); // a view into a larger buffer (a pool's)
      eq(await f.readInto(5 + 1000, view), 200_000, "view read");
      let ok = true;
      for (let i = 0; i < 200_000; i++) if (view[i] !== data[1000 + i]) ok = false;
      eq(ok, true, "view read bytes");
      eq(big[999], 0, "before the view untouched");
      eq(big[201_000], 0, "after the view untouched");
      await f.close();
    },
  },
  {
    name: "appends issued without awaiting land in call order",
    async run(fs, dir) {
      const f = await fs.open(`${dir}/order.log`, { create: true });
      const ps: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) ps.push(f.append(new Uint8Array(i % 7 + 1).fill(i)));
      eq(await f.size(), [...Array(100).keys()].reduce((s, i) => s + (i % 7) + 1, 0), "size counts in-flight appends");
      await Promise.all(ps);
      const all = await f.read(0, 1 << 16);
      let at = 0;
      for (let i = 0; i < 100; i++) {
        for (let j = 0; j < (i % 7) + 1; j++) {
          if (all[at++] !== i) fail(`byte ${at - 1}: expected ${i}, got ${all[at - 1]}`);
        }
      }
      eq(at, all.length, "length");
      await f.close();
    },
  },
  {
    name: "write at a position overwrites and extends; append follows the new end",
    async run(fs, dir) {
      const f = await fs.open(`${dir}/w.bin`, { create: true });
      await f.append(bytes(1, 1, 1, 1));
      await f.write(1, bytes(9, 9));
      eq(await f.read(0, 10), bytes(1, 9, 9, 1), "overwrite");
      await f.write(6, bytes(7));
      eq(await f.size(), 7, "extended");
      eq(await f.read(0, 10), bytes(1, 9, 9, 1, 0, 0, 7), "hole is zeros");
      await f.append(bytes(8));
      eq(await f.read(0, 10), bytes(1, 9, 9, 1, 0, 0, 7, 8), "append after write");
      await f.close();
    },
  },
  {
    name: "truncate shrinks and grows; appends continue at the new end",
    async run(fs, dir) {
      const f = await fs.open(`${dir}/t.bin`, { create: true });
      await f.append(bytes(1, 2, 3, 4, 5));
      await f.truncate(2);
      eq(await f.size(), 2, "shrunk");
      await f.append(bytes(6));
      eq(await f.read(0, 10), bytes(1, 2, 6), "append after truncate");
      await f.truncate(5);
      eq(await f.read(0, 10), bytes(1, 2, 6, 0, 0), "grown with zeros");
      await f.close();
    },
  },
  {
    name: "sync, close, reopen: the data is there, and open never truncates",
    async run(fs, dir) {
      const f = await fs.open(`${dir}/p.log`, { create: true });
      await f.append(text("hello"));
      await f.sync();
      await f.close();
      const g = await fs.open(`${dir}/p.log`, { create: true });
      eq(await g.size(), 5, "size after reopen");
      await g.append(text("!"));
      eq(new TextDecoder().decode(await g.read(0, 100)), "hello!", "content");
      await g.close();
      eq(new TextDecoder().decode((await fs.readFile(`${dir}/p.log`))!), "hello!", "readFile");
    },
  },
  {
    name: "syncs interleaved with appends; close with syncs in flight",
    async run(fs, dir) {
      const f = await fs.open(`${dir}/s.log`, { create: true });
      const ops: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        ops.push(f.append(bytes(i)));
        if (i % 3 === 0) ops.push(f.sync());
      }
      await Promise.all(ops);
      eq(await f.read(0, 100), bytes(...Array.from({ length: 20 }, (_, i) => i)), "appends in call order");
      const last = [f.sync(), f.append(bytes(20)), f.sync()];
      await f.close();
      await Promise.all(last);
      eq((await fs.readFile(`${dir}/s.log`))!.length, 21, "size after close");
    },
  },
  {
    name: "a megabyte round-trips byte-exact",
    async run(fs, dir) {
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      const f = await fs.open(`${dir}/big`, { create: true });
      await f.append(big.subarray(0, 300_000));
      await f.append(big.subarray(300_000));
      const back = await f.read(0, big.length);
      eq(back.length, big.length, "length");
      for (let i = 0; i < big.length; i++) if (back[i] !== big[i]) fail(`byte ${i} differs`);
      eq((await f.read(123_456, 10)).length, 10, "inner read");
      await f.close();
    },
  },
  {
    name: "readFile of a missing file is null; writeFileAtomic replaces and leaves no temp files",
    async run(fs, dir) {
      eq(await fs.readFile(`${dir}/meta.json`), null, "missing");
      await fs.writeFileAtomic(`${dir}/meta.json`, text("one"));
      await fs.writeFileAtomic(`${dir}/meta.json`, text("two!"));
      eq(new TextDecoder().decode((await fs.readFile(`${dir}/meta.json`))!), "two!", "content");
      eq((await fs.list(dir)).map((e) => e.name), ["meta.json"], "no temp files");
      eq((await fs.stat(`${dir}/meta.json`))?.size, 4, "size");
    },
  },
  {
    name: "rename moves a file and replaces the target",
    async run(fs, dir) {
      await fs.writeFileAtomic(`${dir}/a`, text("A"));
      await fs.writeFileAtomic(`${dir}/b`, text("BB"));
      await fs.rename(`${dir}/a`, `${dir}/b`);
      eq(await fs.stat(`${dir}/a`), null, "source gone");
      eq(new TextDecoder().decode((await fs.readFile(`${dir}/b`))!), "A", "target replaced");
      await rejectsWith(fs.rename(`${dir}/missing`, `${dir}/c`), "ENOENT", "rename missing");
    },
  },
  {
    name: "rename moves a directory with its contents",
    async run(fs, dir) {
      await fs.mkdir(`${dir}/d1/sub`);
      await fs.writeFileAtomic(`${dir}/d1/sub/x`, text("x"));
      await fs.rename(`${dir}/d1`, `${dir}/d2`);
      eq(await fs.stat(`${dir}/d1`), null, "old dir gone");
      eq(new TextDecoder().decode((await fs.readFile(`${dir}/d2/sub/x`))!), "x", "moved content");
    },
  },
  {
    name: "remove: files, missing paths, empty and non-empty directories",
    async run(fs, dir) {
      await fs.writeFileAtomic(`${dir}/f`, text("f"));
      await fs.remove(`${dir}/f`);
      eq(await fs.stat(`${dir}/f`), null, "file removed");
      await fs.remove(`${dir}/f`); // missing: no error
      await fs.mkdir(`${dir}/empty`);
      await fs.remove(`${dir}/empty`);
      eq(await fs.stat(`${dir}/empty`), null, "empty dir removed");
      await fs.mkdir(`${dir}/full/deeper`);
      await fs.writeFileAtomic(`${dir}/full/deeper/x`, text("x"));
      let threw = false;
      try {
        await fs.remove(`${dir}/full`);
      } catch {
        threw = true;
      }
      eq(threw, true, "non-empty dir without recursive rejects");
      await fs.remove(`${dir}/full`, { recursive: true });
      eq(await fs.stat(`${dir}/full`), null, "recursive remove");
    },
  },
  {
    name: "list is sorted with kinds and sizes; a missing directory lists empty",
    async run(fs, dir) {
      await fs.mkdir(`${dir}/topic-0`);
      await fs.writeFileAtomic(`${dir}/b.log`, text("12345"));
      await fs.writeFileAtomic(`${dir}/a.index`, text("1"));
      eq(await fs.list(dir), [
        { name: "a.index", isDirectory: false, size: 1 },
        { name: "b.log", isDirectory: false, size: 5 },
        { name: "topic-0", isDirectory: true, size: 0 },
      ], "entries");
      eq(await fs.list(`${dir}/nope`), [], "missing dir");
    },
  },
  {
    name: "mkdir creates parents and is idempotent; stat tells directories",
    async run(fs, dir) {
      await fs.mkdir(`${dir}/x/y/z`);
      await fs.mkdir(`${dir}/x/y/z`);
      eq(await fs.stat(`${dir}/x/y`), { name: "y", isDirectory: true, size: 0 }, "stat dir");
      eq(await fs.stat(`${dir}/x/nope`), null, "stat missing");
    },
  },
  {
    name: "lock is exclusive until released; a lock file of a dead process is taken over",
    async run(fs, dir) {
      const path = `${dir}/.lock`;
      const l = await fs.lock(path);
      let code = "";
      try {
        await fs.lock(path);
      } catch (e) {
        code = (e as { code?: string }).code ?? "";
      }
      eq(code, "ELOCKED", "a second lock is refused");
      await l.release();
      await l.release();
      const again = await fs.lock(path);
      await again.release();
      // A lock file naming a process that does not exist (pid 2^22 + 1 is above Linux's pid_max default).
      await fs.writeFileAtomic(path, text("4194305\n"));
      const taken = await fs.lock(path);
      await taken.release();
    },
  },
];
