// `chronik <command> …`: the admin CLI. Speaks the Kafka protocol through the generated codec
// (src/client/), so it works against any Kafka-compatible broker.
//
// Connection: -b/--brokers (env CHRONIK_BROKERS, default 127.0.0.1:9092), --sasl-mechanism
// PLAIN|SCRAM-SHA-256|SCRAM-SHA-512|OAUTHBEARER with --user/--password or --token, --tls with
// --tls-ca/--tls-insecure/--tls-server-name; or a profile file (--profile, env CHRONIK_PROFILE,
// else ~/.config/chronik/cli.properties when it exists) holding the same as properties.
// Exit codes: 0 success; 1 the broker refused (a Kafka error); 2 bad usage; 3 no connection or timeout.
import type { HostPort } from "../../client/client.ts";
import { KafkaClient, parseBrokers } from "../../client/client.ts";
import type { SaslOptions } from "../../client/connection.ts";
import { KafkaError } from "../../client/errors.ts";
import { DEFAULT_CONFIG } from "../../config.ts";
import type { ClientTlsOptions, Runtime } from "../../runtime.ts";
import { logSettings } from "../../log.ts";
import type { MainHost } from "../host.ts";
import { parseProperties, startFlags, UsageError } from "../start_config.ts";
import { CLUSTER_COMMANDS } from "./cluster.ts";
import type { CompletionSource } from "./completion.ts";
import { completionScript } from "./completion.ts";
import type { Command } from "./command.ts";
import { CONSUME_COMMANDS } from "./consume.ts";
import type { Parsed } from "./context.ts";
import { Ctx, GLOBAL_OPTS, parseOptions } from "./context.ts";
import { GROUP_COMMANDS } from "./group.ts";
import { PRODUCE_COMMANDS } from "./produce.ts";
import { SECURITY_COMMANDS } from "./security.ts";
import { TOPIC_COMMANDS } from "./topic.ts";

export const COMMANDS: Record<string, Command> = {
  ...TOPIC_COMMANDS,
  ...PRODUCE_COMMANDS,
  ...CONSUME_COMMANDS,
  ...GROUP_COMMANDS,
  ...SECURITY_COMMANDS,
  ...CLUSTER_COMMANDS,
};

export const EXIT = { OK: 0, KAFKA: 1, USAGE: 2, CONNECTION: 3 } as const;

const CONNECTION_HELP = `Connection (every command):
  -b, --brokers <host:port,...>   brokers to bootstrap from (env CHRONIK_BROKERS; default 127.0.0.1:9092)
  --sasl-mechanism <m>            PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER
  --user <name> --password <pw>   SASL credentials (PLAIN, SCRAM)
  --token <jwt>                   OAUTHBEARER token
  --tls                           connect with TLS; --tls-ca <pem file>, --tls-insecure, --tls-server-name <name>
  --profile <file>                properties with brokers=, sasl.mechanism=, sasl.username=, sasl.password=,
                                  sasl.token=, tls=true, tls.ca=, tls.insecure=, format= (env CHRONIK_PROFILE;
                                  default ~/.config/chronik/cli.properties when present)
  --format <table|json>           output (default table)
  --timeout <ms>                  per request (default 30000)
  --client-id <id>                the client id the brokers see (default chronik-cli)
Exit codes: 0 ok, 1 the broker refused (Kafka error name printed), 2 bad usage, 3 no connection/timeout.
`;

export function adminUsage(): string {
  const groups = new Map<string, string[]>();
  for (const [name, c] of Object.entries(COMMANDS)) {
    const top = name.split(" ")[0];
    (groups.get(top) ?? groups.set(top, []).get(top)!).push(`  chronik ${name.padEnd(22)} ${c.summary}`);
  }
  return `Usage: chronik <command> [options]   (chronik [start] runs the broker: chronik --help)

${[...groups.values()].map((g) => g.join("\n")).join("\n")}
  chronik config print            the broker's effective start-up config and where each value comes from
  chronik completion <bash|zsh|fish>   shell completion script
  chronik health [--url URL]      exit 0 when the broker's HTTP /health answers (container health checks)

${CONNECTION_HELP}`;
}

/** The completion lists, from the option tables the parsers use. */
export function completionSource(): CompletionSource {
  return {
    commands: Object.fromEntries(Object.entries(COMMANDS).map(([name, c]) => [name, Object.keys(c.options ?? {})])),
    global: Object.keys(GLOBAL_OPTS),
    start: startFlags(),
  };
}

/** Finds the longest command name that the argv starts with. */
function lookup(argv: string[]): { name: string; command: Command; rest: string[] } | null {
  for (const n of [3, 2, 1]) {
    const name = argv.slice(0, n).join(" ");
    if (Object.hasOwn(COMMANDS, name)) return { name, command: COMMANDS[name], rest: argv.slice(n) };
  }
  return null;
}

async function readText(runtime: Runtime, path: string, what: string): Promise<string> {
  const b = await runtime.fs.readFile(path);
  if (b === null) throw new UsageError(`${what} ${path}: no such file`);
  return new TextDecoder().decode(b);
}

/** Connection settings: flags over environment over the profile file. */
export async function connectionSettings(
  runtime: Runtime,
  opts: Parsed,
  env: Readonly<Record<string, string | undefined>>,
): Promise<
  {
    brokers: HostPort[];
    sasl?: SaslOptions;
    tls?: ClientTlsOptions;
    timeoutMs?: number;
    clientId?: string;
    format?: string;
  }
> {
  const flag = (n: string) => opts.values.get(n)?.at(-1);
  let profile: Record<string, string> = {};
  const explicit = flag("--profile") ?? env.CHRONIK_PROFILE;
  const path = explicit ?? (env.HOME ? `${env.HOME}/.config/chronik/cli.properties` : undefined);
  if (path !== undefined) {
    const b = await runtime.fs.readFile(path);
    if (b === null && explicit !== undefined) throw new UsageError(`--profile ${path}: no such file`);
    if (b !== null) {
      profile = Object.fromEntries(parseProperties(new TextDecoder().decode(b)).map((p) => [p.key, p.value]));
    }
  }
  const pick = (f: string, p: string) => flag(f) ?? profile[p];
  const brokers = parseBrokers(
    flag("--brokers") ?? env.CHRONIK_BROKERS ?? profile.brokers ?? `${DEFAULT_CONFIG.host}:${DEFAULT_CONFIG.port}`,
  );
  const mechanism = pick("--sasl-mechanism", "sasl.mechanism")?.toUpperCase();
  let sasl: SaslOptions | undefined;
  if (mechanism) {
    if (!["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"].includes(mechanism)) {
      throw new UsageError(`--sasl-mechanism must be PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER`);
    }
    sasl = {
      mechanism: mechanism as SaslOptions["mechanism"],
      username: pick("--user", "sasl.username"),
      password: pick("--password", "sasl.password") ?? env.CHRONIK_PASSWORD,
      token: pick("--token", "sasl.token"),
    };
    if (mechanism === "OAUTHBEARER" && !sasl.token) throw new UsageError("OAUTHBEARER needs --token");
    if (mechanism !== "OAUTHBEARER" && (sasl.username === undefined || sasl.password === undefined)) {
      throw new UsageError(`${mechanism} needs --user and --password (or CHRONIK_PASSWORD)`);
    }
  }
  let tls: ClientTlsOptions | undefined;
  const caPath = pick("--tls-ca", "tls.ca");
  const insecure = opts.values.has("--tls-insecure") || profile["tls.insecure"] === "true";
  if (opts.values.has("--tls") || profile.tls === "true" || caPath || insecure) {
    tls = {
      ca: caPath ? await readText(runtime, caPath, "--tls-ca") : undefined,
      insecure,
      serverName: pick("--tls-server-name", "tls.server.name"),
    };
  }
  const timeout = pick("--timeout", "timeout.ms");
  if (timeout !== undefined && !/^\d+$/.test(timeout)) throw new UsageError(`--timeout must be milliseconds`);
  return {
    brokers,
    sasl,
    tls,
    timeoutMs: timeout ? Number(timeout) : undefined,
    clientId: pick("--client-id", "client.id"),
    format: profile.format,
  };
}

/** Runs one admin command; resolves with its exit code (never calls host.exit). */
export async function runAdmin(runtime: Runtime, argv: string[], host: MainHost): Promise<number> {
  // The adapters' own lines (the read path of a connection…) are noise for a command's user.
  logSettings.threshold = "warn";
  const err = (text: string) =>
    host.printError ? host.printError(text.endsWith("\n") ? text : text + "\n") : runtime.log("error", text);
  if (argv[0] === "health") return health(argv.slice(1), host, err);
  if (argv[0] === "help" || (argv.length === 1 && argv[0] !== "completion" && !lookup(argv))) {
    host.print(adminUsage());
    return EXIT.OK;
  }
  if (argv[0] === "completion") {
    const shell = argv[1];
    const script = shell ? completionScript(shell, completionSource()) : null;
    if (!script) {
      err("chronik: completion needs a shell: bash, zsh or fish");
      return EXIT.USAGE;
    }
    host.print(script);
    return EXIT.OK;
  }
  const found = lookup(argv);
  if (!found) {
    err(`chronik: unknown command "${argv.slice(0, 2).join(" ")}" (try chronik help)`);
    return EXIT.USAGE;
  }
  let ctx: Ctx | null = null;
  try {
    const opts = parseOptions(found.rest, found.command.options ?? {}, found.command.aliases ?? {});
    if (opts.values.has("--help")) {
      host.print(
        `Usage: chronik ${found.name} ${found.command.usage}\n\n${found.command.summary}\n\n${CONNECTION_HELP}`,
      );
      return EXIT.OK;
    }
    const settings = await connectionSettings(runtime, opts, host.env ?? {});
    if (!opts.values.has("--format") && settings.format) opts.values.set("--format", [settings.format]);
    ctx = new Ctx(runtime, host, opts, () =>
      new KafkaClient(runtime, settings.brokers, {
        sasl: settings.sasl,
        tls: settings.tls,
        requestTimeoutMs: settings.timeoutMs,
        clientId: settings.clientId,
      }));
    const code = await found.command.run(ctx);
    return code ?? EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`chronik ${found.name}: ${e.message}`);
      return EXIT.USAGE;
    }
    if (e instanceof KafkaError) {
      err(`chronik ${found.name}: ${e.code}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`);
      return e.code === "NETWORK_EXCEPTION" || e.code === "REQUEST_TIMED_OUT" ? EXIT.CONNECTION : EXIT.KAFKA;
    }
    // CHRONIK_DEBUG=1 shows where an unexpected failure came from.
    const stack = host.env?.CHRONIK_DEBUG && e instanceof Error ? `\n${e.stack}` : "";
    err(`chronik ${found.name}: ${e instanceof Error ? e.message : String(e)}${stack}`);
    return EXIT.KAFKA;
  } finally {
    await ctx?.close();
  }
}

/**
 * `chronik health [--url URL]`: exit 0 when the broker's HTTP /health answers 2xx, 1 when it answers
 * otherwise, 3 when nothing answers. For container HEALTHCHECKs (no curl needed in the image).
 * The URL defaults to http://127.0.0.1:$CHRONIK_HTTP_PORT/health (8080 when unset).
 */
async function health(argv: string[], host: MainHost, err: (text: string) => void): Promise<number> {
  let url = `http://127.0.0.1:${host.env?.CHRONIK_HTTP_PORT ?? "8080"}/health`;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--url" && argv[i + 1] !== undefined) url = argv[++i];
    else if (argv[i].startsWith("--url=")) url = argv[i].slice(6);
    else {
      err(`chronik health: unknown argument "${argv[i]}" (chronik health [--url URL])`);
      return EXIT.USAGE;
    }
  }
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = await r.text();
    if (r.ok) {
      host.print(body.endsWith("\n") ? body : body + "\n");
      return EXIT.OK;
    }
    err(`chronik health: ${url} answered ${r.status}: ${body}`);
    return EXIT.KAFKA;
  } catch (e) {
    err(`chronik health: ${url}: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.CONNECTION;
  }
}
