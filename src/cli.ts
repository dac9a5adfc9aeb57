// Command line: `chronik [start]` runs the broker, `chronik <command>` administers one over the
// Kafka protocol. Pure TS; an adapter supplies the Runtime plus signals, exit and stdio (MainHost).
import { ALIASES, GLOBAL_OPTS } from "./cli/admin/context.ts";
import { COMMANDS, runAdmin } from "./cli/admin/main.ts";
import { printConfig, runBroker } from "./cli/broker_main.ts";
import type { MainHost } from "./cli/host.ts";
import { UsageError } from "./cli/start_config.ts";
import type { Runtime } from "./runtime.ts";

export { DEFAULT_DATA_DIR, parseArgs, USAGE, VERSION, withDataDir } from "./cli/broker_main.ts";
export type { ParsedArgs } from "./cli/broker_main.ts";
export type { MainHost } from "./cli/host.ts";
export { UsageError };

/** The admin commands' first words (chronik <command> …); anything else, or nothing, runs the broker. */
export const ADMIN_COMMANDS: readonly string[] = [
  ...new Set(Object.keys(COMMANDS).map((name) => name.split(" ")[0])),
  "completion",
  "health",
  "help",
];

/** Runs the command line; resolves with the exit code it passed to host.exit. */
export async function runMain(runtime: Runtime, argv: string[], host: MainHost): Promise<number> {
  argv = commandFirst(argv);
  const [first, ...rest] = argv;
  if (first === "start") return runBroker(runtime, rest, host);
  if (first === "config" && (rest[0] === "print" || rest[0] === undefined)) {
    const args = rest.slice(1);
    const json = args.includes("--format=json") || args.some((a, i) => a === "--format" && args[i + 1] === "json");
    const clean = args.filter((a, i) => a !== "--format=json" && a !== "--format" && args[i - 1] !== "--format");
    let code: number;
    try {
      code = await printConfig(runtime, clean, host, json);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      (host.printError ?? ((t: string) => runtime.log("error", t.trimEnd())))(`chronik: ${e.message}\n`);
      code = 2;
    }
    host.exit(code);
    return code;
  }
  if (first !== undefined && ADMIN_COMMANDS.includes(first)) {
    const code = await runAdmin(runtime, argv, host);
    host.exit(code);
    return code;
  }
  return runBroker(runtime, argv, host);
}

/** Connection options that may come before the command (`chronik -b host:9092 topic list`): the global ones. */
const LEADING_VALUE_OPTS = new Set([
  ...Object.keys(GLOBAL_OPTS).filter((n) => GLOBAL_OPTS[n] === "value"),
  ...Object.keys(ALIASES).filter((a) => GLOBAL_OPTS[ALIASES[a]] === "value"),
]);
const LEADING_FLAGS = new Set(Object.keys(GLOBAL_OPTS).filter((n) => GLOBAL_OPTS[n] === "flag" && n !== "--help"));

/** Moves connection options given before an admin command to after it. */
function commandFirst(argv: string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (LEADING_FLAGS.has(a)) {
      lead.push(a);
      i++;
    } else if (LEADING_VALUE_OPTS.has(name)) {
      lead.push(...(a.includes("=") ? [a] : argv.slice(i, i + 2)));
      i += a.includes("=") ? 1 : 2;
    } else break;
  }
  if (lead.length === 0 || !ADMIN_COMMANDS.includes(argv[i])) return argv;
  // The command words (up to three) first, then the options.
  let words = 1;
  while (words < 3 && i + words < argv.length && /^[a-z][a-z-]*$/.test(argv[i + words])) words++;
  return [...argv.slice(i, i + words), ...lead, ...argv.slice(i + words)];
}
