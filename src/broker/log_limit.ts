// At most `burst` warning lines per key (a client address) per interval, so that a client that keeps
// sending garbage or reconnecting cannot fill the log; the next line that gets through says how many
// were left out. The table is bounded: when it is full the oldest key is forgotten.

const MAX_KEYS = 4096;

export class LogLimiter {
  private readonly intervalMs: number;
  private readonly burst: number;
  /** key → the start of its current interval, lines written in it, and lines left out since the last one. */
  private readonly last = new Map<string, { at: number; count: number; suppressed: number }>();

  constructor(intervalMs: number, burst = 1) {
    this.intervalMs = intervalMs;
    this.burst = burst;
  }

  /** The line to write (with a count of those left out since the last), or null to leave this one out. */
  admit(key: string, now: number, line: string): string | null {
    const e = this.last.get(key);
    if (e !== undefined && now - e.at < this.intervalMs) {
      if (e.count >= this.burst) {
        e.suppressed++;
        return null;
      }
      e.count++;
      const left = e.suppressed;
      e.suppressed = 0;
      return left > 0 ? `${line} (${left} similar lines for ${key} left out)` : line;
    }
    const suppressed = e?.suppressed ?? 0;
    this.last.delete(key);
    if (this.last.size >= MAX_KEYS) this.last.delete(this.last.keys().next().value!);
    this.last.set(key, { at: now, count: 1, suppressed: 0 });
    return suppressed > 0 ? `${line} (${suppressed} similar lines for ${key} left out)` : line;
  }
}

/** Control characters (and DEL) as \xNN, so client-chosen text cannot forge or garble log lines. */
export function escapeForLog(text: string, max = 200): string {
  // deno-lint-ignore no-control-regex
  const escaped = text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}
