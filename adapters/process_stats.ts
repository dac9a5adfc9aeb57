// Runtime.processStats for Node and Bun: CPU and RSS from `process`, GC time from perf_hooks' "gc"
// entries where the runtime reports them (Node does; Bun lists no "gc" entry type, so it has none).
import { PerformanceObserver } from "node:perf_hooks";
import type { ProcessStats } from "../src/runtime.ts";

let gc: { seconds: number; count: number } | null | undefined;

/** Starts counting GC pauses (once); null when the runtime has no "gc" performance entries. */
function gcCounter(): { seconds: number; count: number } | null {
  if (gc !== undefined) return gc;
  gc = null;
  const types = (PerformanceObserver as unknown as { supportedEntryTypes?: readonly string[] }).supportedEntryTypes;
  if (!types?.includes("gc")) return gc;
  try {
    const c = { seconds: 0, count: 0 };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        c.seconds += e.duration / 1000;
        c.count++;
      }
    }).observe({ entryTypes: ["gc"] });
    gc = c;
  } catch {
    // An observer the runtime refuses: no GC time.
  }
  return gc;
}

/** The first call starts counting GC time; the broker makes it at start-up. */
export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  const g = gcCounter();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    ...(g ? { gcSeconds: g.seconds, gcCount: g.count } : {}),
  };
}
