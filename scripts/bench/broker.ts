// The broker under test: started as a child process under a chosen runtime (through the e2e
// harness, so the command lines are the ones the tests use) or an already running one
// (--target host:port, optionally --pid for its CPU and memory). CPU time and memory come from
// /proc/<pid>/stat and /proc/<pid>/status.
import { readFileSync } from "node:fs";
import { ensureBuilt, type RuntimeKind, startBrokerProcess } from "../../tests/e2e/harness.ts";

export type BrokerUnderTest = {
  kind: RuntimeKind | "external";
  host: string;
  port: number;
  pid: number | null;
  /** ms from spawn to the "listening on" log line (null for an external broker). */
  startMs: number | null;
  stop(): Promise<void>;
};

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** utime + stime of a process, ms; null when /proc has no such process. */
export function cpuMs(pid: number | null): number | null {
  const t = cpuTimes(pid);
  return t === null ? null : t.user + t.system;
}

/** utime and stime of a process (all its threads), ms, and its minor page faults; null when /proc has no such process. */
export function cpuTimes(pid: number | null): { user: number; system: number; minorFaults: number } | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name, which may itself contain spaces.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      user: (Number(f[11]) * 1000) / CLK_TCK,
      system: (Number(f[12]) * 1000) / CLK_TCK,
      minorFaults: Number(f[7]),
    };
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM (peak RSS) in MB (10^6 bytes). */
export function memMB(pid: number | null): { rss: number; peak: number } | null {
  if (pid === null) return null;
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    return { rss: (kbField(s, "VmRSS") * 1024) / 1e6, peak: (kbField(s, "VmHWM") * 1024) / 1e6 };
  } catch {
    return null;
  }
}

/** The kernel's dirty and writeback page cache, MiB (/proc/meminfo). */
export function pageCacheMB(): { dirty: number; writeback: number } {
  const s = readFileSync("/proc/meminfo", "utf8");
  return { dirty: Math.round(kbField(s, "Dirty") / 1024), writeback: Math.round(kbField(s, "Writeback") / 1024) };
}

/** A "Key:   123 kB" line of a /proc file, in kB (NaN when absent). */
function kbField(text: string, key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
}

export async function startBroker(kind: RuntimeKind, args: string[]): Promise<BrokerUnderTest> {
  if (kind === "node" || kind === "binary") await ensureBuilt();
  const t0 = performance.now();
  const b = await startBrokerProcess(kind, ["--log-level", "info", ...args]);
  const startMs = performance.now() - t0;
  return {
    kind,
    host: b.host,
    port: b.port,
    pid: b.proc.pid,
    startMs,
    async stop() {
      const code = await b.stop();
      if (code !== 0) console.error(`broker (${kind}) exited with ${code}\n${b.logs().slice(-4000)}`);
    },
  };
}

export function externalBroker(target: string, pid: number | null): BrokerUnderTest {
  const i = target.lastIndexOf(":");
  return {
    kind: "external",
    host: target.slice(0, i),
    port: Number(target.slice(i + 1)),
    pid,
    startMs: null,
    stop: async () => {},
  };
}
