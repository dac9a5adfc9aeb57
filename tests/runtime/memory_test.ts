// The in-memory Runtime: listeners, in-process connections, backpressure, and the memory
// FileSystem's fault injection (failNext, diskLimit, crash).
import { describe, expect, test } from "bun:test";
import { memoryFileSystem, memoryRuntime, normalizePath } from "../../src/runtime/memory.ts";
import type { Conn, ConnHandler } from "../../src/runtime.ts";

const bytes = (...xs: number[]) => new Uint8Array(xs);
const tick = () => new Promise((r) => setTimeout(r, 1));

function echoServer(rt: ReturnType<typeof memoryRuntime>, port = 0) {
  const seen = { ends: 0, conns: [] as Conn[], received: [] as Uint8Array[] };
  const listening = rt.listen({ host: "127.0.0.1", port }, (conn): ConnHandler => {
    seen.conns.push(conn);
    return {
      data(c) {
        seen.received.push(c);
        conn.write(c);
      },
      end() {
        seen.ends++;
      },
    };
  });
  return { seen, listening };
}

describe("memory runtime: connections", () => {
  test("listen on port 0 picks distinct ports; a taken port is EADDRINUSE; nothing listening is ECONNREFUSED", async () => {
    const rt = memoryRuntime();
    const a = await rt.listen({ host: "h", port: 0 }, () => ({ data() {}, end() {} }));
    const b = await rt.listen({ host: "h", port: 0 }, () => ({ data() {}, end() {} }));
    expect(a.port).not.toBe(b.port);
    expect(rt.listen({ host: "h", port: a.port }, () => ({ data() {}, end() {} }))).rejects.toMatchObject({
      code: "EADDRINUSE",
    });
    await a.close();
    expect(() => rt.connect(a.port)).toThrow(/ECONNREFUSED/);
    expect(rt.connect(b.port)).toBeDefined();
  });

  test("echo: bytes arrive asynchronously, in order, copied", async () => {
    const rt = memoryRuntime();
    const { seen, listening } = echoServer(rt);
    const l = await listening;
    const c = rt.connect(l.port);
    const mine = bytes(1, 2, 3);
    c.write(mine);
    c.write(bytes(4));
    expect(seen.received.length).toBe(0); // not synchronous
    mine[0] = 99; // the runtime copied it
    expect([...(await c.readExactly(4))]).toEqual([1, 2, 3, 4]);
    c.close();
    expect(await c.read()).toBeNull();
    expect(seen.ends).toBe(1);
  });

  test("ondata receives server bytes; a server close() delivers queued bytes, then ends both sides", async () => {
    const rt = memoryRuntime();
    let conn!: Conn;
    let ended = 0;
    const l = await rt.listen({ host: "h", port: 9092 }, (cn) => {
      conn = cn;
      return { data() {}, end: () => void ended++ };
    });
    expect(l.port).toBe(9092);
    const c = rt.connect(9092);
    const got: number[] = [];
    let clientEnded = false;
    c.ondata = (chunk) => got.push(...chunk);
    c.onend = () => (clientEnded = true);
    conn.write(bytes(7, 8));
    conn.write(bytes(9));
    conn.close();
    conn.close(); // idempotent
    expect(conn.write(bytes(1))).toBe(true); // dropped after close
    await tick();
    expect(got).toEqual([7, 8, 9]);
    expect(clientEnded).toBe(true);
    expect(c.ended).toBe(true);
    expect(ended).toBe(1);
  });

  test("backpressure: write() returns false past the high-water mark while the client is paused; drained() resolves after resume", async () => {
    const rt = memoryRuntime();
    let conn!: Conn;
    await rt.listen({ host: "h", port: 1 }, (cn) => {
      conn = cn;
      return { data() {}, end() {} };
    });
    const c = rt.connect(1);
    c.pause();
    const mb = new Uint8Array(1 << 20);
    expect(conn.write(mb)).toBe(true);
    expect(conn.write(bytes(1))).toBe(false);
    let drained = false;
    conn.drained().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    let received = 0;
    c.ondata = (chunk) => (received += chunk.byteLength);
    c.resume();
    await tick();
    expect(received).toBe((1 << 20) + 1);
    expect(drained).toBe(true);
    await conn.drained(); // at once when empty
  });

  test("write()'s sent callback: runs in write order once the client has a copy; never for bytes dropped by a close", async () => {
    const rt = memoryRuntime();
    let conn!: Conn;
    await rt.listen({ host: "h", port: 2 }, (cn) => {
      conn = cn;
      return { data() {}, end() {} };
    });
    const c = rt.connect(2);
    const got: Uint8Array[] = [];
    c.ondata = (chunk) => got.push(chunk);
    c.pause();
    const a = bytes(1, 2, 3);
    const order: string[] = [];
    conn.write(a, () => {
      order.push("a");
      a.fill(0); // reused: what the client got must not change
    });
    conn.write(bytes(4));
    conn.write(bytes(5), () => order.push("b"));
    await tick();
    expect(order).toEqual([]); // still queued while the client does not read
    c.resume();
    await tick();
    expect(order).toEqual(["a", "b"]);
    expect(got.map((x) => [...x])).toEqual([[1, 2, 3], [4], [5]]);

    c.pause();
    let late = false;
    conn.write(bytes(6), () => (late = true));
    c.close();
    await tick();
    expect(late).toBe(false);
  });

  test("server pause() holds client bytes until resume()", async () => {
    const rt = memoryRuntime();
    const { seen, listening } = echoServer(rt);
    const l = await listening;
    const c = rt.connect(l.port);
    await tick();
    seen.conns[0].pause();
    c.write(bytes(1));
    await tick();
    expect(seen.received.length).toBe(0);
    seen.conns[0].resume();
    await tick();
    expect(seen.received.length).toBe(1);
  });

  test("moves 50 MB through an echo with backpressure", async () => {
    const rt = memoryRuntime();
    let pauses = 0;
    const l = await rt.listen({ host: "h", port: 0 }, (conn) => ({
      data(chunk) {
        if (!conn.write(chunk)) {
          pauses++;
          conn.pause();
          conn.drained().then(() => conn.resume());
        }
      },
      end() {},
    }));
    const c = rt.connect(l.port);
    const total = 50 << 20;
    const chunk = new Uint8Array(256 * 1024).map((_, i) => i * 31);
    let received = 0;
    let bad = false;
    const done = new Promise<void>((resolve) => {
      c.ondata = (b) => {
        for (let i = 0; i < b.length; i += 4099) if (b[i] !== chunk[(received + i) % chunk.length]) bad = true;
        received += b.length;
        if (received === total) resolve();
      };
    });
    c.pause();
    for (let sent = 0; sent < total; sent += chunk.length) c.write(chunk);
    setTimeout(() => c.resume(), 20);
    await done;
    expect(bad).toBe(false);
    expect(pauses).toBeGreaterThan(0);
  });

  test("now() moves with advance(); log lines are kept", () => {
    let base = 1_000;
    const rt = memoryRuntime({ now: () => base });
    rt.advance(500);
    base += 1;
    expect(rt.now()).toBe(1_501);
    rt.log("warn", "disk almost full");
    expect(rt.logs).toEqual(["1970-01-01T00:00:01.501Z WARN disk almost full"]);
  });
});

describe("memory file system: faults", () => {
  test("paths normalize", () => {
    expect(normalizePath("a//b/./c/")).toBe("a/b/c");
    expect(normalizePath("/x/../y")).toBe("/y");
    expect(normalizePath("./")).toBe(".");
    expect(normalizePath("/")).toBe("/");
  });

  test("failNext fails the next matching call once (or count times), with a code", async () => {
    const fs = memoryFileSystem();
    await fs.mkdir("/d");
    const f = await fs.open("/d/x", { create: true });
    fs.failNext("append", "EIO");
    await expect(f.append(bytes(1))).rejects.toMatchObject({ code: "EIO" });
    await f.append(bytes(2));
    fs.failNext("sync", new Error("boom"), { count: 2 });
    await expect(f.sync()).rejects.toThrow("boom");
    await expect(f.sync()).rejects.toThrow("boom");
    await f.sync();
    fs.failNext("readFile", "EACCES", { path: "/d/y" });
    expect(await fs.readFile("/d/x")).toEqual(bytes(2)); // other path unaffected
    await expect(fs.readFile("/d/y")).rejects.toMatchObject({ code: "EACCES" });
    fs.failNext("open", undefined, { path: /\.index$/ });
    await expect(fs.open("/d/0.index", { create: true })).rejects.toMatchObject({ code: "EIO" });
    expect(fs.calls.open).toBe(2);
  });

  test("diskLimit: a write past it stores what fits (a torn tail) and rejects ENOSPC", async () => {
    const fs = memoryFileSystem();
    fs.diskLimit = 10;
    const f = await fs.open("seg.log", { create: true });
    await f.append(new Uint8Array(6).fill(1));
    await expect(f.append(new Uint8Array(6).fill(2))).rejects.toMatchObject({ code: "ENOSPC" });
    expect(await f.size()).toBe(10);
    expect(fs.used()).toBe(10);
    await f.write(0, bytes(9, 9)); // overwriting needs no space
    await expect(fs.writeFileAtomic("meta", bytes(1))).rejects.toMatchObject({ code: "ENOSPC" });
    expect(await fs.stat("meta")).toBeNull();
    await f.truncate(4);
    expect(fs.used()).toBe(4);
    await fs.writeFileAtomic("meta", bytes(1));
    fs.diskLimit = null;
    await f.append(new Uint8Array(100));
    expect(fs.used()).toBe(105);
  });

  test("crash() keeps only synced bytes and kills open handles", async () => {
    const fs = memoryFileSystem();
    const f = await fs.open("log", { create: true });
    await f.append(bytes(1, 2, 3));
    await f.sync();
    await f.append(bytes(4, 5));
    await f.write(0, bytes(9)); // unsynced overwrite of synced bytes
    const g = await fs.open("other", { create: true });
    await g.append(bytes(7));
    await fs.writeFileAtomic("meta", bytes(42));
    fs.crash();
    await expect(f.read(0, 10)).rejects.toMatchObject({ code: "EBADF" });
    expect(await fs.readFile("log")).toEqual(bytes(1, 2, 3));
    expect(await fs.readFile("other")).toEqual(bytes());
    expect(await fs.readFile("meta")).toEqual(bytes(42));
    const h = await fs.open("log");
    await h.append(bytes(4));
    await h.sync();
    await h.append(bytes(5));
    fs.crash();
    expect(await fs.readFile("log")).toEqual(bytes(1, 2, 3, 4));
  });
});
