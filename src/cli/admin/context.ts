// What every admin command shares: its parsed options, the client, and output (tables or JSON).
import type { KafkaClient } from "../../client/client.ts";
import type { Runtime } from "../../runtime.ts";
import type { MainHost } from "../host.ts";
import { UsageError } from "../start_config.ts";

export type OptSpec = Record<string, "value" | "flag" | "multi">;

export type Parsed = {
  positional: string[];
  values: Map<string, string[]>;
};

/** Global connection and output options (every command). Short aliases map to the long names. */
export const GLOBAL_OPTS: OptSpec = {
  "--brokers": "value",
  "--format": "value",
  "--profile": "value",
  "--sasl-mechanism": "value",
  "--user": "value",
  "--password": "value",
  "--token": "value",
  "--tls": "flag",
  "--tls-ca": "value",
  "--tls-insecure": "flag",
  "--tls-server-name": "value",
  "--timeout": "value",
  "--client-id": "value",
  "--help": "flag",
};

export const ALIASES: Record<string, string> = { "-b": "--brokers", "-h": "--help" };

/** Parses `--name value`, `--name=value`, flags and positionals against `spec` (plus the global options). */
export function parseOptions(argv: string[], spec: OptSpec, aliases: Record<string, string> = {}): Parsed {
  const all: OptSpec = { ...GLOBAL_OPTS, ...spec };
  const names: Record<string, string> = { ...ALIASES, ...aliases };
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--") && arg.includes("=")) {
      inline = arg.slice(arg.indexOf("=") + 1);
      arg = arg.slice(0, arg.indexOf("="));
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const name = names[arg] ?? arg;
    const kind = all[name];
    if (kind === undefined) throw new UsageError(`unknown option "${arg}" (try --help)`);
    if (kind === "flag") {
      values.set(name, ["true"]);
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`${arg} needs a value`);
    const list = values.get(name) ?? [];
    if (kind === "value") list.length = 0;
    list.push(v);
    values.set(name, list);
  }
  return { positional, values };
}

export class Ctx {
  readonly runtime: Runtime;
  readonly host: MainHost;
  readonly opts: Parsed;
  readonly json: boolean;
  private clientFactory: () => KafkaClient;
  private made: KafkaClient | null = null;

  constructor(runtime: Runtime, host: MainHost, opts: Parsed, client: () => KafkaClient) {
    this.runtime = runtime;
    this.host = host;
    this.opts = opts;
    const format = this.get("--format") ?? "table";
    if (format !== "json" && format !== "table") {
      throw new UsageError(`--format must be table or json, got "${format}"`);
    }
    this.json = format === "json";
    this.clientFactory = client;
  }

  get client(): KafkaClient {
    this.made ??= this.clientFactory();
    return this.made;
  }

  async close(): Promise<void> {
    await this.made?.close();
  }

  get(name: string): string | undefined {
    const v = this.opts.values.get(name);
    return v?.[v.length - 1];
  }

  all(name: string): string[] {
    return this.opts.values.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.opts.values.has(name);
  }

  int(name: string, fallback?: number): number {
    const v = this.get(name);
    if (v === undefined) {
      if (fallback === undefined) throw new UsageError(`${name} is required`);
      return fallback;
    }
    if (!/^-?\d+$/.test(v)) throw new UsageError(`${name} must be an integer, got "${v}"`);
    return Number(v);
  }

  /** The n-th positional argument after the command words; required unless `fallback`. */
  arg(n: number, what: string): string {
    const v = this.opts.positional[n];
    if (v === undefined) throw new UsageError(`missing ${what}`);
    return v;
  }

  print(text: string): void {
    this.host.print(text);
  }

  /** Progress and notes: stderr, never stdout (which scripts read). */
  note(text: string): void {
    if (this.host.printError) this.host.printError(text.endsWith("\n") ? text : text + "\n");
  }

  /** A value as indented JSON (--format json). */
  printJson(value: unknown): void {
    this.print(JSON.stringify(value, jsonReplacer, 2) + "\n");
  }

  /** A table (human) or the rows as JSON. */
  table(rows: Record<string, unknown>[], columns: string[], jsonValue: unknown = rows): void {
    if (this.json) {
      this.printJson(jsonValue);
      return;
    }
    this.print(formatTable(rows, columns));
  }

  /** A JSON value (json) or key: value lines (human). */
  record(value: Record<string, unknown>): void {
    if (this.json) {
      this.printJson(value);
      return;
    }
    const w = Math.max(...Object.keys(value).map((k) => k.length));
    let out = "";
    for (const [k, v] of Object.entries(value)) {
      out += `${(k + ":").padEnd(w + 1)} ${
        typeof v === "object" && v !== null ? JSON.stringify(v, jsonReplacer) : String(v)
      }\n`;
    }
    this.print(out);
  }
}

export function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return v;
}

/** Columns upper-cased as headers, left aligned, two spaces apart. */
export function formatTable(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "-" : typeof v === "bigint" ? v.toString() : String(v));
  const header = columns.map((c) => c.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase());
  const body = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(header), ...body.map(line)].join("\n") + "\n";
}

/** `key=value` → [key, value]; UsageError when there is no `=`. */
export function keyValue(s: string, what: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0) throw new UsageError(`${what} expects key=value, got "${s}"`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}
