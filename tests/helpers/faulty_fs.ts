// A FileSystem port that wraps another one (a runtime's, or the memory one) and injects faults, per
// path pattern, switchable while the broker runs: ENOSPC or EIO on write, EIO on fsync, short writes
// (a prefix of the data lands, then the write fails, as when the disk fills mid-write) and slow fsyncs.
//
//   const ffs = faultyFs(bunRuntime.fs);
//   const off = ffs.inject({ path: /-0\/\d+\.log$/, op: "sync", fault: "EIO", times: 1 });
//   ... off();  // or ffs.clear()
//
// "write" covers FileHandle.append and .write and the data of writeFileAtomic; "sync" covers
// FileHandle.sync and the sync inside writeFileAtomic; "open" covers open() (creating a file on a
// full disk fails too); "mkdir", "rename" and "remove" fail those calls (a path rule matches either side of a
// rename), and "rename" also fails writeFileAtomic's final rename (nothing replaces the file). Like Linux
// after a failed fsync, the next
// fsync of the same file succeeds (the kernel reported the error once and dropped the dirty pages):
// that is the "fsyncgate" trap the engine must not fall into.
import type { FileHandle, FileSystem, Runtime } from "../../src/runtime.ts";

export type FaultOp = "write" | "sync" | "open" | "mkdir" | "rename" | "remove";
export type Fault = "ENOSPC" | "EIO" | "short" | "slow";

export type FaultRule = {
  /** Matches the file's path: a RegExp, or a substring. */
  path: RegExp | string;
  op: FaultOp;
  fault: Fault;
  /** "short": bytes that land before the failure (default: half the data). */
  bytes?: number;
  /** "short": the error that follows the partial write (default ENOSPC). */
  error?: "ENOSPC" | "EIO";
  /** "slow": delay before the real fsync (default 200 ms). */
  delayMs?: number;
  /** Fires this many times, then removes itself (default: until removed). */
  times?: number;
};

export type FaultEvent = { path: string; op: FaultOp; fault: Fault };

export interface FaultyFs extends FileSystem {
  /** Adds a rule; returns a function that removes it. Later rules are checked first. */
  inject(rule: FaultRule): () => void;
  /** Removes every rule (the disk is healthy again, or space was freed). */
  clear(): void;
  /** Faults injected so far. */
  readonly events: FaultEvent[];
  /** While set, successful writes and fsyncs are recorded in `ops`, in the order they completed. */
  trace: boolean;
  readonly ops: { op: "wrote" | "synced"; path: string }[];
}

const MESSAGES: Record<string, string> = {
  ENOSPC: "ENOSPC: no space left on device",
  EIO: "EIO: i/o error",
};

export function fsError(code: "ENOSPC" | "EIO", op: string, path: string): Error & { code: string } {
  return Object.assign(new Error(`${MESSAGES[code]}, ${op} '${path}'`), { code, injected: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function faultyFs(inner: FileSystem): FaultyFs {
  let rules: (FaultRule & { left: number })[] = [];
  const events: FaultEvent[] = [];
  const ops: { op: "wrote" | "synced"; path: string }[] = [];
  const state = { trace: false };
  const traced = async (op: "wrote" | "synced", path: string, p: Promise<void>) => {
    await p;
    if (state.trace) ops.push({ op, path });
  };

  const match = (path: string, op: FaultOp): FaultRule | null => {
    for (let i = rules.length - 1; i >= 0; i--) {
      const r = rules[i];
      if (r.op !== op) continue;
      if (typeof r.path === "string" ? !path.includes(r.path) : !r.path.test(path)) continue;
      if (--r.left <= 0) rules = rules.filter((x) => x !== r);
      events.push({ path, op, fault: r.fault });
      return r;
    }
    return null;
  };

  /** Runs a write through the rules: fails, or writes a prefix then fails, or writes. */
  async function writeVia(path: string, data: Uint8Array, write: (d: Uint8Array) => Promise<void>, what: string) {
    const r = match(path, "write");
    if (r === null || r.fault === "slow") return traced("wrote", path, write(data));
    if (r.fault === "short") {
      const n = Math.min(r.bytes ?? Math.floor(data.length / 2), data.length);
      if (n > 0) await write(data.subarray(0, n));
      throw fsError(r.error ?? "ENOSPC", what, path);
    }
    throw fsError(r.fault, what, path);
  }

  async function syncVia(path: string, sync: () => Promise<void>, what: string) {
    const r = match(path, "sync");
    if (r === null) return traced("synced", path, sync());
    if (r.fault === "slow") {
      await sleep(r.delayMs ?? 200);
      return traced("synced", path, sync());
    }
    // A failed fsync: the kernel reports it once; the page cache may or may not still hold the data.
    throw fsError(r.fault === "ENOSPC" ? "ENOSPC" : "EIO", what, path);
  }

  /** mkdir, rename, remove: fail with the rule's error (EIO unless ENOSPC) before the call. */
  function failIf(path: string, op: FaultOp, what: string): void {
    const r = match(path, op);
    if (r && r.fault !== "slow") throw fsError(r.fault === "ENOSPC" ? "ENOSPC" : "EIO", what, path);
  }

  function wrap(path: string, h: FileHandle): FileHandle {
    return delegate(h, {
      append: (d) => writeVia(path, d, (x) => h.append(x), "write"),
      write: (p, d) => {
        let at = p;
        return writeVia(path, d, async (x) => {
          await h.write(at, x);
          at += x.length;
        }, "write");
      },
      sync: () => syncVia(path, () => h.sync(), "fsync"),
    });
  }

  const own: Partial<FaultyFs> = {
    inject(rule) {
      const r = { ...rule, left: rule.times ?? Infinity };
      rules.push(r);
      return () => {
        rules = rules.filter((x) => x !== r);
      };
    },
    clear() {
      rules = [];
    },
    events,
    ops,
    get trace() {
      return state.trace;
    },
    set trace(v: boolean) {
      state.trace = v;
    },
    async open(path, options) {
      const r = match(path, "open");
      if (r && r.fault !== "slow") throw fsError(r.fault === "EIO" ? "EIO" : "ENOSPC", "open", path);
      return wrap(path, await inner.open(path, options));
    },
    async writeFileAtomic(path, data, options) {
      // The temp file's write and sync fail as they would, and so does the rename over `path`; nothing
      // replaces `path` then.
      const w = match(path, "write");
      if (w && w.fault !== "slow") throw fsError(w.fault === "short" ? (w.error ?? "ENOSPC") : w.fault, "write", path);
      failIf(path, "rename", "rename");
      await syncVia(path, () => inner.writeFileAtomic(path, data, options), "fsync");
    },
    async mkdir(path) {
      failIf(path, "mkdir", "mkdir");
      await inner.mkdir(path);
    },
    async rename(from, to) {
      failIf(`${from} -> ${to}`, "rename", "rename");
      await inner.rename(from, to);
    },
    async remove(path, options) {
      failIf(path, "remove", "rm");
      await inner.remove(path, options);
    },
  };
  return delegate(inner, own) as FaultyFs;
}

/** `own`'s members, else `inner`'s (bound): ports that grow a method keep working through the wrapper. */
function delegate<T extends object>(inner: T, own: Partial<T> & object): T {
  return new Proxy(own, {
    get(target, prop) {
      if (prop in target) return (target as Record<PropertyKey, unknown>)[prop];
      const v = (inner as Record<PropertyKey, unknown>)[prop];
      return typeof v === "function" ? v.bind(inner) : v;
    },
  }) as T;
}

/** The runtime with its FileSystem wrapped and its log lines kept in `lines` (as "level message"). */
export function faultyRuntime<R extends Runtime>(runtime: R): R & { fs: FaultyFs; lines: string[] } {
  const lines: string[] = [];
  return {
    ...runtime,
    fs: faultyFs(runtime.fs),
    lines,
    log: (level, message) => void lines.push(`${level} ${message}`),
  };
}
