// The command line's host under Bun and Node: signals, exit, standard streams and environment
// through `process` (MainHost), the same for both adapters.
import type { MainHost } from "../src/cli/host.ts";

export function processHost(): MainHost {
  return {
    onSignal(fn) {
      process.on("SIGINT", () => fn("SIGINT"));
      process.on("SIGTERM", () => fn("SIGTERM"));
      onParentExit(fn);
    },
    exit: (code) => process.exit(code),
    print: (text) => void process.stdout.write(text),
    write: (bytes) =>
      new Promise<void>((resolve) => {
        if (process.stdout.write(bytes)) resolve();
        else process.stdout.once("drain", () => resolve());
      }),
    printError: (text) => void process.stderr.write(text),
    env: process.env,
    stdin: () => process.stdin as unknown as AsyncIterable<Uint8Array>,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

/**
 * npm and npx run a package's bin through `sh -c`, and when they stop on SIGTERM/SIGINT they signal
 * that shell, which does not pass it on: the broker would run on as an orphan. Under npm (its
 * environment says so) the broker watches its parent and stops as on SIGTERM when it goes away.
 */
function onParentExit(fn: (signal: string) => void): void {
  const env = process.env;
  if (env.npm_command === undefined && env.npm_lifecycle_event === undefined && env.npm_execpath === undefined) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      fn("SIGTERM (npm's shell exited)");
    }
  }, 500);
  (timer as { unref?: () => void }).unref?.();
}
