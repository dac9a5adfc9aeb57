// Standard streams and environment for the command line under Bun and Node (MainHost's stdio part).
import type { MainHost } from "../src/cli/host.ts";

export function processStdio(): Pick<
  MainHost,
  "write" | "printError" | "env" | "stdin" | "stdoutIsTTY" | "stderrIsTTY"
> {
  return {
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
