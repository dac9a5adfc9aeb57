// What an entry point (adapters/*.ts main) lends the command line besides the Runtime.

export interface MainHost {
  /** Registers `fn` for SIGINT and SIGTERM (and whatever else means "stop"). */
  onSignal(fn: (signal: string) => void): void;
  /** Ends the program with this exit code. */
  exit(code: number): void;
  /** Writes to stdout (help, version, tables). */
  print(text: string): void;
  /** Writes bytes to stdout, resolving when they may be followed (backpressure); `print` when absent. */
  write?(bytes: Uint8Array): Promise<void>;
  /** Writes to stderr (progress, one-line errors of the admin commands). */
  printError?(text: string): void;
  /** The process environment (CHRONIK_… settings, CHRONIK_BROKERS, HOME). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Standard input, as chunks. */
  stdin?(): AsyncIterable<Uint8Array>;
  /** Whether stdout / stderr are terminals (tables get colour-free alignment; progress shows only on a TTY). */
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
}
