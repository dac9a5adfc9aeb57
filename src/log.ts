// Log lines and level filtering, shared by the adapters and the CLI. Pure TS.
import type { FetchHandler, LogLevel, Runtime } from "./runtime.ts";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function isLogLevel(s: unknown): s is LogLevel {
  return typeof s === "string" && Object.hasOwn(RANK, s);
}

/** True when a line at `level` passes a `threshold` filter. */
export function logEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return RANK[level] >= RANK[threshold];
}

export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/**
 * Process-wide settings of the adapters' own log lines (stderr), set once by the command line:
 * the adapters log a few lines of their own (accept errors, TLS handshakes, the read path) outside
 * the broker's filtered logger, and every line shares one format.
 */
export const logSettings: { threshold: LogLevel; format: LogFormat } = { threshold: "debug", format: "text" };

/** A log line as an adapter writes it: filtered by logSettings, formatted by it; null when filtered out. */
export function adapterLogLine(timeMs: number, level: LogLevel, message: string): string | null {
  if (!logEnabled(level, logSettings.threshold)) return null;
  return formatLogLine(timeMs, level, message, logSettings.format);
}

/**
 * `<ISO time> <LEVEL> <message>` plus a newline; multi-line messages are indented so a line always
 * starts with a time. `json`: one object per line, `{"time","level","message"}` (jq-friendly).
 */
export function formatLogLine(timeMs: number, level: LogLevel, message: string, format: LogFormat = "text"): string {
  if (format === "json") {
    return JSON.stringify({ time: new Date(timeMs).toISOString(), level, message }) + "\n";
  }
  const text = message.includes("\n") ? message.replace(/\n/g, "\n    ") : message;
  return `${new Date(timeMs).toISOString()} ${level.toUpperCase()} ${text}\n`;
}

/**
 * The same Runtime with `log` filtered at `threshold` (a level, or a function read on each line so a
 * level changed at run time applies). The CLI wraps the adapter's runtime once with --log-level.
 * Properties are forwarded (not copied) so a runtime whose `now` is moved by tests stays live.
 */
export function withLogLevel<R extends Runtime>(runtime: R, threshold: LogLevel | (() => LogLevel)): Runtime {
  const level = typeof threshold === "function" ? threshold : () => threshold;
  return {
    get name() {
      return runtime.name;
    },
    get fs() {
      return runtime.fs;
    },
    listen: (options, accept) => runtime.listen(options, accept),
    ...(runtime.connect ? { connect: (options, handler) => runtime.connect!(options, handler) } : {}),
    ...(runtime.serve
      ? { serve: (options: { host: string; port: number }, fetch: FetchHandler) => runtime.serve!(options, fetch) }
      : {}),
    ...(runtime.connect
      ? { connect: (options, open) => runtime.connect!(options, open) } satisfies Partial<Runtime>
      : {}),
    now: () => runtime.now(),
    ...(runtime.processStats ? { processStats: () => runtime.processStats!() } : {}),
    log: (lvl, message) => {
      if (RANK[lvl] >= RANK[level()]) runtime.log(lvl, message);
    },
  };
}
