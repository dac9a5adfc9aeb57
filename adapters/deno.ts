// Deno adapter: Runtime over Deno.listen and Deno.open. Entry point: `deno run -A adapters/deno.ts`.
// Connections are in deno_conn.ts, files in deno_fs.ts; TLS (listenTls, startTls) is set up here.
import { runMain } from "../src/cli.ts";
import { adapterLogLine } from "../src/log.ts";
import type {
  Conn,
  ConnectOptions,
  ConnHandler,
  FetchHandler,
  HttpServer,
  Listener,
  ListenOptions,
  LogLevel,
  Runtime,
} from "../src/runtime.ts";
import { DenoConn } from "./deno_conn.ts";
import { denoFileSystem } from "./deno_fs.ts";

export { denoFileSystem };

const encoder = new TextEncoder();

function writeAll(out: { writeSync(b: Uint8Array): number }, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += out.writeSync(bytes.subarray(done));
}

function writeStderr(text: string): void {
  writeAll(Deno.stderr, encoder.encode(text));
}

/** Deno.cpuUsage (microseconds) is newer than some Deno type definitions. */
const cpuUsage = (Deno as unknown as { cpuUsage?: () => { user: number; system: number } }).cpuUsage;

export const denoRuntime: Runtime = {
  name: "deno",
  fs: denoFileSystem,
  now: () => Date.now(),
  // No GC time: Deno lists a "gc" performance entry type but delivers no entries.
  processStats() {
    const cpu = cpuUsage?.() ?? { user: NaN, system: NaN };
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: Deno.memoryUsage().rss };
  },
  log(level: LogLevel, message: string) {
    const line = adapterLogLine(Date.now(), level, message);
    if (line !== null) writeStderr(line);
  },
  serve(options: { host: string; port: number }, fetch: FetchHandler): Promise<HttpServer> {
    return new Promise((resolve) => {
      const server = Deno.serve({
        hostname: options.host,
        port: options.port,
        onListen: (addr) =>
          resolve({ host: options.host, port: (addr as Deno.NetAddr).port, close: () => server.shutdown() }),
      }, (req, info) => fetch(req, { remoteAddress: (info.remoteAddr as Deno.NetAddr).hostname ?? "" }));
    });
  },
  async connect(options: ConnectOptions, handler: (conn: Conn) => ConnHandler): Promise<Conn> {
    const t = options.tls;
    const tcp = await Deno.connect({ hostname: options.host, port: options.port, transport: "tcp" });
    tcp.setNoDelay(true);
    let c: Deno.Conn = tcp;
    if (t) {
      // connectTls verifies (and sends as SNI) the host it dials; startTls over the TCP connection lets the
      // certificate be checked against another name (--tls-server-name) while dialing an address.
      let tls: Deno.TlsConn;
      try {
        tls = await Deno.startTls(tcp, {
          hostname: t.serverName ?? options.host,
          ...(t.ca ? { caCerts: [t.ca] } : {}),
        });
      } catch (e) {
        // Refused before any handshake (a server name that is no host name): the TCP connection is still
        // open. (Deno closes it itself when it refuses the CA.)
        try {
          tcp.close();
        } catch { /* already closed */ }
        throw e;
      }
      try {
        await tls.handshake();
      } catch (e) {
        tls.close();
        // Deno's TLS has no per-connection switch to skip verification: say so rather than ignore the option.
        if (t.insecure && e instanceof Error) {
          e.message += " (--tls-insecure has no effect under Deno: give --tls-ca, or run Deno with " +
            "--unsafely-ignore-certificate-errors)";
        }
        throw e;
      }
      c = tls;
    }
    const conn = new DenoConn(c);
    conn.start(handler(conn));
    return conn;
  },
  async listen(options: ListenOptions, accept: (conn: Conn) => ConnHandler): Promise<Listener> {
    const l: Deno.Listener = options.tls
      ? Deno.listenTls({
        hostname: options.host,
        port: options.port,
        transport: "tcp",
        cert: options.tls.cert,
        key: options.tls.key,
      })
      : Deno.listen({ hostname: options.host, port: options.port, transport: "tcp" });
    (async () => {
      for (;;) {
        let c: Deno.Conn;
        try {
          c = await l.accept();
        } catch (e) {
          if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return; // listener closed
          denoRuntime.log("warn", `accept: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        try {
          if ("setNoDelay" in c) {
            (c as Deno.TcpConn).setNoDelay(true);
            (c as Deno.TcpConn).setKeepAlive(true);
          }
        } catch {
          // the peer may already be gone
        }
        const conn = new DenoConn(c);
        try {
          conn.start(accept(conn));
        } catch (e) {
          denoRuntime.log("error", `accept failed: ${e instanceof Error ? e.message : String(e)}`);
          c.close();
        }
      }
    })();
    return {
      host: options.host,
      port: (l.addr as Deno.NetAddr).port,
      close: async () => {
        try {
          l.close();
        } catch {
          // already closed
        }
      },
    };
  },
};

/** Runs the CLI with Deno.args; the process exits when the broker stops. */
export function main(argv: string[] = Deno.args): Promise<number> {
  return runMain(denoRuntime, argv, {
    onSignal(fn) {
      Deno.addSignalListener("SIGINT", () => fn("SIGINT"));
      Deno.addSignalListener("SIGTERM", () => fn("SIGTERM"));
    },
    exit: (code) => Deno.exit(code),
    print: (text) => writeAll(Deno.stdout, encoder.encode(text)),
    printError: (text) => writeStderr(text),
    write: (bytes) => Promise.resolve(writeAll(Deno.stdout, bytes)),
    env: Deno.env.toObject(),
    stdin: () => Deno.stdin.readable,
    stdoutIsTTY: Deno.stdout.isTerminal(),
    stderrIsTTY: Deno.stderr.isTerminal(),
  });
}

if (import.meta.main) await main();
