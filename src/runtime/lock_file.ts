// The lock-file protocol behind FileSystem.lock, shared by the adapters. It must hold where the
// holder's process cannot be seen: another PID namespace (containers) or another host on shared
// storage. Two mechanisms:
// - an OS lock (flock) on the lock file where the runtime offers one (Deno); it dies with its process;
// - a lease everywhere: the lock file names the holder (host, PID namespace, pid, a random instance
//   id) and carries a heartbeat counter that the live holder rewrites every lease/4.
// A contender that finds the lock file decides:
// - holder on this host in this PID namespace: its pid alive → refused; gone → taken over at once;
// - holder it cannot see (other host or PID namespace, or an OS lock it could not get): it watches
//   the file for one lease; a heartbeat seen → refused; none → the holder is gone, taken over.
// Release removes the lock file only while it still names this instance, so a broker that lost
// (or never had) the lock never removes another one's. An empty file is a released lock.
import type { FileLock, LockOptions } from "../runtime.ts";

/** What an adapter lends: exclusive creation, reading, writing in place, and who is alive. */
export type LockFileOps = {
  /** Creates `path` holding `text`; false when it exists already. */
  createExclusive(path: string, text: string): Promise<boolean>;
  /** The file's text, or null when it vanished. */
  readText(path: string): Promise<string | null>;
  /** Replaces the file's text in place (same inode, so an OS lock on it stays meaningful). */
  overwrite(path: string, text: string): Promise<void>;
  remove(path: string): Promise<void>;
  readonly pid: number;
  alive(pid: number): boolean;
  /** This machine's host name. */
  readonly host: string;
  /** This process's PID namespace ("pid:[4026531836]" from /proc/self/ns/pid), "" when unknown. */
  readonly pidNamespace: string;
  /** An exclusive OS lock on `path` (created if missing) without waiting: its release, or null if held elsewhere. */
  osLock?(path: string): Promise<(() => Promise<void>) | null>;
};

/** Lease length when the caller gives none: a holder that stops refreshing for this long is gone. */
export const DEFAULT_LEASE_MS = 10_000;

type Holder = {
  pid: number;
  host: string;
  pidns: string;
  instance: string;
  heartbeat: number;
  since?: string;
  osLock?: boolean;
};

function parse(text: string, ops: LockFileOps): Holder {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    // A lock file of Chronik before leases: a pid on this host.
    return { pid: Number(t), host: ops.host, pidns: ops.pidNamespace, instance: "", heartbeat: 0 };
  }
  try {
    const h = JSON.parse(t) as Holder;
    if (typeof h.pid === "number" && typeof h.host === "string") return h;
  } catch {
    // a write in progress, or garbage: watched like a holder we cannot see
  }
  return { pid: -1, host: "?", pidns: "", instance: "?", heartbeat: 0 };
}

export function describeHolder(h: Holder | null): string {
  if (!h || h.pid < 0) return "another process";
  return `process ${h.pid} on host ${h.host}${h.instance ? ` (instance ${h.instance})` : ""}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function randomId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function locked(path: string, holder: Holder | null, why: string): Error {
  return Object.assign(new Error(`${path} is held by ${describeHolder(holder)}: ${why}`), {
    code: "ELOCKED",
    pid: holder?.pid ?? -1,
    holder: describeHolder(holder),
  });
}

/** Lock files this process holds, per adapter (a second lock in the same process is refused too). */
export async function takeLock(
  path: string,
  ops: LockFileOps,
  held: Set<string>,
  options: LockOptions = {},
): Promise<FileLock> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const log = options.log ?? (() => {});
  if (held.has(path)) {
    throw locked(path, { pid: ops.pid, host: ops.host, pidns: "", instance: "", heartbeat: 0 }, "held in this process");
  }
  let releaseOs: (() => Promise<void>) | null = null;
  if (ops.osLock) {
    releaseOs = await ops.osLock(path);
    if (!releaseOs) throw locked(path, parse(await ops.readText(path) ?? "", ops), "its OS lock is held");
  }
  const instance = randomId();
  const since = new Date().toISOString();
  function me(heartbeat: number): Holder {
    return {
      pid: ops.pid,
      host: ops.host,
      pidns: ops.pidNamespace,
      instance,
      heartbeat,
      since,
      ...(releaseOs ? { osLock: true } : {}),
    };
  }
  let text = JSON.stringify(me(0)) + "\n";
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await ops.createExclusive(path, text)) return hold();
      const seen = await ops.readText(path);
      if (seen === null) continue;
      const holder = parse(seen, ops);
      if (!(releaseOs && holder.osLock)) {
        // (A holder that kept an OS lock is gone when we got that lock.)
        const visible = holder.host === ops.host && holder.pidns === ops.pidNamespace && holder.pidns !== "";
        const legacy = holder.instance === "" && holder.host === ops.host;
        if (visible || legacy) {
          if (holder.pid !== ops.pid && holder.pid > 0 && ops.alive(holder.pid)) {
            throw locked(path, holder, "that process is alive");
          }
        } else {
          log(
            "info",
            `${path} names ${
              describeHolder(holder)
            }, which this process cannot see; watching its lease for ${leaseMs} ms`,
          );
          const until = Date.now() + leaseMs;
          while (Date.now() < until) {
            await sleep(Math.min(leaseMs / 10, until - Date.now()));
            const now = await ops.readText(path);
            if (now !== seen) {
              if (now === null) break; // released meanwhile: try again
              throw locked(path, parse(now, ops), "its lease is being renewed");
            }
          }
        }
      }
      log(
        "warn",
        `${path}: taking over the lock of ${describeHolder(holder)}, which is gone${
          releaseOs && holder.osLock ? " (its OS lock was free)" : ""
        }`,
      );
      // Take over only what we examined (another contender may have been quicker).
      if (await ops.readText(path) !== seen) continue;
      await ops.overwrite(path, text);
      if (await ops.readText(path) === text) return hold();
    }
    throw locked(path, parse(await ops.readText(path) ?? "", ops), "could not take it over");
  } catch (e) {
    await releaseOs?.();
    throw e;
  }

  function hold(): FileLock {
    held.add(path);
    let heartbeat = 0;
    let released = false;
    let beating: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      beating = beating.then(async () => {
        if (released) return;
        const now = await ops.readText(path).catch(() => text);
        if (now !== text) {
          clearInterval(timer);
          log("error", `${path}: the data-dir lock was taken by ${describeHolder(parse(now ?? "", ops))}`);
          return;
        }
        const next = JSON.stringify(me(++heartbeat)) + "\n";
        await ops.overwrite(path, next).then(() => void (text = next), (e) => {
          log("warn", `${path}: could not renew the lock lease: ${e instanceof Error ? e.message : String(e)}`);
        });
      });
    }, Math.max(10, leaseMs / 4));
    (timer as { unref?: () => void }).unref?.();
    return {
      async release() {
        if (released) return;
        released = true;
        clearInterval(timer);
        await beating;
        held.delete(path);
        if (await ops.readText(path) === text) await ops.remove(path);
        await releaseOs?.();
      },
    };
  }
}
