// A private, throwaway PostgreSQL server for tests: initdb into a temp dir owned by the `postgres`
// user (root may not run the server), listening on 127.0.0.1 on a free port, trust for the
// superuser `postgres` and scram-sha-256 for the role `chronik_scram` (password "scram-secret").
// stop()/start() let a test take it away under load, pause()/resume() hang it (SIGSTOP/SIGCONT of the server and
// every backend: connections stay open, nothing answers; resume("new connections") wakes all but the backends
// of the connections open at pause(), so statements sent on those run only at the final resume()); destroy() stops
// it and removes the dir.
// Finds Debian's binaries (/usr/lib/postgresql/<N>/bin) or ones on PATH; `available()` says whether any.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";

function binDir(): string | null {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(`${base}/${v}/bin/initdb`)).sort((a, b) =>
      Number(b) - Number(a)
    );
    if (versions.length > 0) return `${base}/${versions[0]}/bin`;
  }
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim().replace(/\/initdb$/, "") : null;
}

export function postgresAvailable(): boolean {
  return binDir() !== null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export type TestPostgres = {
  port: number;
  /** postgres://postgres@127.0.0.1:port/<db> (trust). */
  url(db?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(prefix?: string): string;
  /** Runs SQL as the superuser through psql; stdout. */
  psql(sql: string, db?: string): string;
  stop(): void;
  start(): void;
  /** SIGSTOPs the server and all its processes (a hung PostgreSQL: TCP still accepts, nothing answers). */
  pause(): void;
  /**
   * SIGCONTs what pause() stopped. With "new connections": all but the backends of the connections open at
   * pause(): new connections are served while statements already sent on the old ones wait for the next resume().
   */
  resume(only?: "new connections"): void;
  destroy(): void;
};

let dbCount = 0;

/** Servers still running: stopped (immediately) when the test process exits, even after a failure. */
const running = new Set<() => void>();
process.on("exit", () => {
  for (const kill of running) kill();
});

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  if (!bin) throw new Error("PostgreSQL binaries not found (apt-get install postgresql)");
  const dir = mkdtempSync(`${tmpdir()}/chronik-pg-`);
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string[], check = true) => {
    const argv = asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", cwd: dir, timeout: 60_000 });
    if (check && r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  if (asRoot) spawnSync("chown", ["postgres:postgres", dir]);
  const data = `${dir}/data`;
  try {
    run([`${bin}/initdb`, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let port = await freePort();
  const hba = [
    "local all all trust",
    "host all chronik_scram 127.0.0.1/32 scram-sha-256",
    "host all all 127.0.0.1/32 trust",
  ].join("\n");
  const hbaPath = `${data}/pg_hba.conf`;
  writeFileSync(hbaPath, hba + "\n");
  if (asRoot) spawnSync("chown", ["postgres:postgres", hbaPath]);
  // fsync off: the machine's crash is not what these tests are about, and it keeps them fast.
  const opts = () => `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=200`;
  const start = () => run([`${bin}/pg_ctl`, "-D", data, "-w", "-t", "60", "-l", `${dir}/log`, "-o", opts(), "start"]);
  const stop = () => run([`${bin}/pg_ctl`, "-D", data, "-w", "-t", "60", "-m", "fast", "stop"], false);
  // Test files run in parallel workers: another process may bind the free port before the server does; then the
  // server's log says so and it gets another port.
  for (let attempt = 1;; attempt++) {
    try {
      start();
      break;
    } catch (e) {
      const log = existsSync(`${dir}/log`) ? readFileSync(`${dir}/log`, "utf8") : "";
      if (attempt < 3 && log.includes("Address already in use")) {
        port = await freePort();
        continue;
      }
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const kill = () => {
    run([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "stop"], false);
    rmSync(dir, { recursive: true, force: true });
  };
  // The postmaster (first line of postmaster.pid) and its children (backends, checkpointer, walwriter, ...).
  const processes = () => {
    const main = Number(readFileSync(`${data}/postmaster.pid`, "utf8").split("\n")[0]);
    const children = spawnSync("ps", ["-o", "pid=", "--ppid", String(main)], { encoding: "utf8" }).stdout;
    return [main, ...children.split("\n").map((l) => Number(l.trim())).filter((n) => n > 0)];
  };
  const signal = (sig: NodeJS.Signals, pids = processes()) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch { /* exited meanwhile */ }
    }
  };
  // A paused server is let go before the exit handler's immediate stop below (a stopped process cannot stop).
  let paused = false;
  running.add(() => paused && signal("SIGCONT"));
  running.add(kill);

  const psql = (sql: string, db = "postgres") => {
    const r = spawnSync(`${bin}/psql`, [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      db,
      "-qAtX",
      "-c",
      sql,
    ], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout;
  };
  psql("CREATE ROLE chronik_scram LOGIN SUPERUSER PASSWORD 'scram-secret'");
  const url = (db = "postgres") => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    port,
    url,
    createDatabase(prefix = "t") {
      const name = `${prefix}_${process.pid}_${++dbCount}`;
      psql(`CREATE DATABASE ${name}`);
      return url(name);
    },
    psql,
    stop,
    start,
    pause() {
      paused = true;
      signal("SIGSTOP");
    },
    resume(only) {
      if (only === "new connections") {
        // A client backend's title names its client: "postgres: <user> <db> 127.0.0.1(<port>) <state>".
        const ps = spawnSync("ps", ["-o", "pid=,args=", "-p", processes().join(",")], { encoding: "utf8" }).stdout;
        const others = ps.split("\n").filter((l) => l.trim() !== "" && !/\d\(\d+\)/.test(l));
        signal("SIGCONT", others.map((l) => Number(l.trim().split(/\s+/)[0])));
        return;
      }
      signal("SIGCONT");
      paused = false;
    },
    destroy() {
      if (paused) signal("SIGCONT");
      running.delete(kill);
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
