// One admin command: its options, a one-line summary, its usage line and what it does.
import type { Ctx, OptSpec } from "./context.ts";

export type Command = {
  summary: string;
  usage: string;
  options?: OptSpec;
  aliases?: Record<string, string>;
  /** Resolves with the exit code (0 when nothing is returned). */
  run(ctx: Ctx): Promise<number | void>;
};
