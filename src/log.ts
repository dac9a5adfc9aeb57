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

/** `<ISO time> <LEVEL> <message>` plus a newline; multi-line messages are indented so a line always starts with a time. */
export function formatLogLine(timeMs: number, level: LogLevel, message: string): string {
  const text = message.includes("\n") ? message.replace(/\n/g, "\n    ") : message;
  return `${new Date(timeMs).toISOString()} ${level.toUpperCase()} ${text}\n`;
}

/**
 * The same Runtime with `log` filtered at `threshold`. The adapters' own `log`
 * writes everything; the CLI wraps it once with the configured --log-level.
 * Properties are forwarded (not copied) so a runtime whose `now` is moved by tests stays live.
 */
export function withLogLevel<R extends Runtime>(runtime: R, threshold: LogLevel): Runtime {
  return {
    get name() {
      return runtime.name;
    },
    get fs() {
      return runtime.fs;
    },
    listen: (options, accept) => runtime.listen(options, accept),
    ...(runtime.serve
      ? { serve: (options: { host: string; port: number }, fetch: FetchHandler) => runtime.serve!(options, fetch) }
      : {}),
    ...(runtime.connect
      ? { connect: (options, open) => runtime.connect!(options, open) } satisfies Partial<Runtime>
      : {}),
    now: () => runtime.now(),
    log: (level, message) => {
      if (RANK[level] >= RANK[threshold]) runtime.log(level, message);
    },
  };
}
