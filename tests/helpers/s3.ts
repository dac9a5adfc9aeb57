// A private S3-compatible server for tests: versitygw (Versity S3 Gateway, Apache-2.0) with its posix
// backend in a temporary directory, on a free loopback port, one bucket created. Installed by .ci/run:
//   go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
// Found as $VERSITYGW, on PATH, or in $(go env GOPATH)/bin.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3ObjectStore, type S3Options } from "../../src/storage/objects/s3.ts";

export const S3_ACCESS_KEY = "chronik-test-key";
export const S3_SECRET_KEY = "chronik/test+secret=key";
export const S3_REGION = "us-east-1";

export type TestS3 = {
  endpoint: string;
  port: number;
  /** The directory the gateway stores buckets and objects in (buckets are its subdirectories). */
  root: string;
  /** A client for `bucket` (created) with the test credentials; `options` override the defaults. */
  client(bucket?: string, options?: Partial<S3Options>): Promise<S3ObjectStore>;
  /** Stops the server (SIGTERM); start() brings it back on the same port and directory (no-op while running). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
};

export function versitygwPath(): string {
  const candidates = [
    process.env.VERSITYGW,
    Bun.which("versitygw"),
    join(process.env.GOPATH ?? join(process.env.HOME ?? "/root", "go"), "bin", "versitygw"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  const gopath = Bun.which("go") ? Bun.spawnSync(["go", "env", "GOPATH"]).stdout.toString().trim() : "";
  if (gopath && existsSync(join(gopath, "bin", "versitygw"))) return join(gopath, "bin", "versitygw");
  throw new Error(
    "versitygw not found: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (see .ci/run), or set VERSITYGW",
  );
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export async function startS3(opts: { virtualDomain?: string } = {}): Promise<TestS3> {
  const bin = versitygwPath();
  const root = mkdtempSync(join(tmpdir(), "chronik-s3-"));
  // The free port is bound by versitygw a moment later: another test process may take it first (parallel workers),
  // and the gateway then exits; the first start tries again on another port.
  let port = await freePort();
  let endpoint = `http://127.0.0.1:${port}`;
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  let output = "";

  async function start(): Promise<void> {
    if (proc && proc.exitCode === null) return;
    const args = [bin, "--port", `127.0.0.1:${port}`, "--access", S3_ACCESS_KEY, "--secret", S3_SECRET_KEY];
    args.push("--region", S3_REGION, "--keep-alive", "--quiet");
    if (opts.virtualDomain) args.push("--virtual-domain", opts.virtualDomain);
    args.push("posix", root);
    proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const p = proc;
    for (const stream of [p.stdout, p.stderr] as ReadableStream<Uint8Array>[]) {
      (async () => {
        for await (const chunk of stream) output = (output + new TextDecoder().decode(chunk)).slice(-4000);
      })().catch(() => {});
    }
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (p.exitCode !== null) throw new Error(`versitygw exited with ${p.exitCode}: ${output}`);
      try {
        const res = await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        // Any answer (403 without credentials) means it is serving — unless it came from whoever holds the port.
        if (p.exitCode === null) return;
      } catch {
        await Bun.sleep(50);
      }
    }
    throw new Error(`versitygw did not answer on ${endpoint} within 20 s: ${output}`);
  }

  async function stop(): Promise<void> {
    const p = proc;
    proc = null;
    if (!p) return;
    p.kill("SIGTERM");
    const killer = setTimeout(() => p.kill("SIGKILL"), 5000);
    await p.exited;
    clearTimeout(killer);
  }

  for (let attempt = 1;; attempt++) {
    try {
      await start();
      break;
    } catch (e) {
      if (attempt === 3 || proc === null || (proc as { exitCode: number | null }).exitCode === null) throw e;
      proc = null;
      port = await freePort();
      endpoint = `http://127.0.0.1:${port}`;
    }
  }
  return {
    endpoint,
    port,
    root,
    async client(bucket = "chronik-test", options = {}) {
      const c = new S3ObjectStore({
        bucket,
        region: S3_REGION,
        endpoint,
        credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
        pathStyle: true,
        ...options,
      });
      await new S3ObjectStore({
        bucket,
        region: S3_REGION,
        endpoint,
        credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
        pathStyle: true,
      }).createBucket();
      return c;
    },
    stop,
    start,
    async close() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
