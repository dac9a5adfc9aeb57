// A progress line on stderr for long produce/consume runs: records, MB/s, and an ETA when the total
// is known (a --file). Only on a TTY (never when piped or in scripts), redrawn at most twice a second.
import type { Ctx } from "./context.ts";

export class Progress {
  private readonly ctx: Ctx;
  private readonly verb: string;
  private readonly on: boolean;
  private readonly started = Date.now();
  private last = 0;
  private shown = false;
  /** Total bytes expected, when known: the line then shows an ETA. */
  total: number | null = null;

  constructor(ctx: Ctx, verb: string, enabled: boolean) {
    this.ctx = ctx;
    this.verb = verb;
    this.on = enabled && ctx.host.stderrIsTTY === true && ctx.host.printError !== undefined;
  }

  private line(records: number, bytes: number): string {
    const s = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = bytes / s;
    const eta = this.total !== null && rate > 0 ? `, ETA ${Math.max(0, Math.ceil((this.total - bytes) / rate))} s` : "";
    return `\r${this.verb} ${records} record(s), ${(bytes / 1e6).toFixed(1)} MB, ${(rate / 1e6).toFixed(1)} MB/s, ${
      Math.round(records / s)
    } rec/s${eta}   `;
  }

  update(records: number, bytes: number): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.last < 500) return;
    this.last = now;
    this.shown = true;
    this.ctx.host.printError!(this.line(records, bytes));
  }

  done(records: number, bytes: number): void {
    if (this.on && this.shown) this.ctx.host.printError!(this.line(records, bytes) + "\n");
  }
}
