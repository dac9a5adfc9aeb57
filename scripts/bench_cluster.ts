// Brokers end to end, 1 and 3 of them, on file, PostgreSQL and object storage, driven over loopback TCP:
//   bun scripts/bench_cluster.ts [--mib 32] [--partitions 6] [--latency 300] [--only "objects x1"] [--runtime bun]
//                                [--idempotence false] [--in-flight 5] [--acks all] [--flush-ms 250]
// For each setup (file x1; postgres x1; postgres x3 sharing one PostgreSQL; objects x1 and x3: PostgreSQL with record
// data in a private versitygw (chronik.object.store); the benchmark's own private PostgreSQL from
// tests/helpers/postgres.ts with fsync=off): kcat (librdkafka) produces --mib MiB of 1000-byte records, acks=all,
// idempotent, into --partitions partitions through every broker; kcat consumes them all back; then kafkajs sends
// --latency records 10 ms apart (acks=all) while a streaming kcat consumer stamps their arrival: e2e latency p50/p99.
// Reports produce and consume MB/s, broker CPU ms per MB for produce and for consume (user+system from
// /proc/<pid>/stat, summed over the brokers), PostgreSQL's CPU per MB (all its processes, produce and consume
// together), PostgreSQL transactions per MB (pg_stat_database; each statement the engine sends is its own
// transaction; lease heartbeats included) and, on object storage, the objects written per MB (one PUT each).
// "file x3" is not a cluster (file storage is one broker), so it is not measured.
// --runtime bun|deno|node, or a comma-separated list the brokers take in turn ("bun,deno,node": a mixed cluster;
// a single broker takes the first). Node brokers run the bundle (dist/chronik.mjs, built when stale).
// --only runs the named setups (comma-separated); --idempotence false makes the kcat producer plain, --in-flight N
// sets its max.in.flight.requests.per.connection (librdkafka caps it at 5 with idempotence), --acks 1 answers on
// the leader's append (the same commit on PostgreSQL and object storage: no replicas to wait for), --flush-ms sets
// chronik.object.flush.ms on object storage.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess, RuntimeKind } from "../tests/e2e/harness.ts";
import { startBrokerProcess } from "../tests/e2e/harness.ts";
import { startPostgres } from "../tests/helpers/postgres.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3, type TestS3 } from "../tests/helpers/s3.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const MIB = Number(opt("--mib", "32"));
const P = Number(opt("--partitions", "6"));
const LAT = Number(opt("--latency", "300"));
const ONLY = opt("--only", "");
const IDEMPOTENCE = opt("--idempotence", "true") !== "false";
const IN_FLIGHT = opt("--in-flight", "");
const ACKS = opt("--acks", "all");
const FLUSH_MS = opt("--flush-ms", "");
const RUNTIMES = opt("--runtime", "bun").split(",") as RuntimeKind[];
for (const r of RUNTIMES) if (!["bun", "deno", "node"].includes(r)) throw new Error(`--runtime: unknown ${r}`);
const RECORD = 1000;
const N = Math.ceil((MIB * 1048576) / RECORD);
const MB = (N * RECORD) / 1e6;

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, load average ${
    loadavg().map((l) => l.toFixed(1)).join(" ")
  } (shared); brokers on ${RUNTIMES.join(",")}; ${N} records of ${RECORD} B (${
    MB.toFixed(1)
  } MB), ${P} partitions; kcat ${IDEMPOTENCE ? "idempotent" : "not idempotent"}, acks=${ACKS}`,
);

const payload = `${tmpdir()}/bench_cluster_${process.pid}.txt`;
const line = "x".repeat(RECORD);
writeFileSync(payload, Array.from({ length: N }, () => line).join("\n") + "\n");

const pg = await startPostgres();
let s3 = null as TestS3 | null; // assigned inside bench(): a plain `= null` would narrow it to null below

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function run(cmd: string[], stdinFile?: string): Promise<string> {
  const p = Bun.spawn(cmd, { stdin: stdinFile ? Bun.file(stdinFile) : "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${err}`);
  return out;
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function bench(name: string, kind: "file" | "postgres" | "objects", count: number) {
  if (ONLY !== "" && !ONLY.split(",").includes(name)) return;
  const storage = kind === "file" ? "file" : "postgres";
  const db = storage === "postgres" ? pg.createDatabase("bench") : "";
  let objectArgs: string[] = [], env: Record<string, string> = {};
  if (kind === "objects") {
    s3 ??= await startS3();
    const bucket = `bench-${dbNameOf(db).replace(/_/g, "-")}`;
    await s3.client(bucket);
    objectArgs = ["-o", `chronik.object.store=s3://${bucket}/b`, "-o", `chronik.s3.endpoint=${s3.endpoint}`];
    if (FLUSH_MS) objectArgs.push("-o", `chronik.object.flush.ms=${FLUSH_MS}`);
    env = { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY, AWS_REGION: S3_REGION };
  }
  const dbName = dbNameOf(db);
  const xacts = () =>
    storage === "postgres"
      ? Number(pg.psql(`SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '${dbName}'`))
      : 0;
  const objects = () => kind === "objects" ? Number(pg.psql(`SELECT count(*) FROM chronik_objects`, dbName)) : 0;
  const brokers: BrokerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const extra = storage === "postgres" ? ["--storage", db, "--node-id", String(i + 1), ...objectArgs] : [];
      const runtime = RUNTIMES[i % RUNTIMES.length];
      brokers.push(await startBrokerProcess(runtime, [...extra, "-o", "group.initial.rebalance.delay.ms=0"], env));
    }
    const bootstrap = brokers.map((b) => `127.0.0.1:${b.port}`).join(",");
    const kafka = new Kafka({ brokers: bootstrap.split(","), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "bench", numPartitions: P }, { topic: "lat", numPartitions: 1 }] });
    await admin.disconnect();
    // Let every broker see the topics and leaders (next heartbeat).
    for (let i = 0; i < 50; i++) {
      const m = JSON.parse(await run(["kcat", "-b", bootstrap, "-L", "-J", "-t", "bench"]));
      const leaders = new Set(m.topics[0].partitions.map((p: { leader: number }) => p.leader));
      if (m.brokers.length === count && leaders.size === Math.min(count, P) && !leaders.has(-1)) break;
      await Bun.sleep(200);
    }
    await Bun.sleep(1500);
    const brokerCpu = () => brokers.reduce((s, b) => s + cpuSeconds(b.proc.pid), 0);
    const cpu0 = brokerCpu();
    const pgCpu0 = pgCpu();
    const x0 = xacts();
    const o0 = objects();
    let t = performance.now();
    await run([
      "kcat",
      "-b",
      bootstrap,
      "-P",
      "-t",
      "bench",
      "-X",
      `acks=${ACKS}`,
      "-X",
      `enable.idempotence=${IDEMPOTENCE}`,
      ...(IN_FLIGHT ? ["-X", `max.in.flight.requests.per.connection=${IN_FLIGHT}`] : []),
      "-X",
      "linger.ms=5",
    ], payload);
    const produceS = (performance.now() - t) / 1000;
    const cpuProduce = brokerCpu() - cpu0;
    t = performance.now();
    const out = await run(["kcat", "-b", bootstrap, "-C", "-t", "bench", "-o", "beginning", "-e", "-q", "-f", "\n"]);
    const consumeS = (performance.now() - t) / 1000;
    const got = out.length;
    if (got !== N) throw new Error(`consumed ${got}/${N}`);
    const cpuConsume = brokerCpu() - cpu0 - cpuProduce;
    const pgCpuUsed = pgCpu() - pgCpu0;
    await Bun.sleep(1200); // pg_stat flushes at most once a second
    const x = xacts() - x0;
    const o = objects() - o0;

    // e2e latency: a paced kafkajs producer, a streaming kcat consumer.
    const consumer = Bun.spawn(["kcat", "-b", bootstrap, "-C", "-t", "lat", "-o", "end", "-u", "-q", "-f", "%s\n"], {
      stdout: "pipe",
      stderr: "ignore",
    });
    const lat: number[] = [];
    const reading = (async () => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of consumer.stdout) {
        const now = Date.now();
        buf += dec.decode(chunk, { stream: true });
        const parts = buf.split("\n");
        buf = parts.pop()!;
        for (const p of parts) if (p) lat.push(now - Number(p));
        if (lat.length >= LAT) break;
      }
    })();
    await Bun.sleep(1500);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < LAT; i++) {
      await producer.send({ topic: "lat", acks: -1, messages: [{ value: String(Date.now()) }] });
      await Bun.sleep(10);
    }
    await Promise.race([reading, Bun.sleep(10_000)]);
    consumer.kill();
    await producer.disconnect();
    const perMB = (sec: number) => (sec / MB * 1000).toFixed(1);
    console.log(
      `${name.padEnd(12)} produce ${(MB / produceS).toFixed(1)} MB/s, consume ${(MB / consumeS).toFixed(1)} MB/s, ` +
        `e2e p50 ${pct(lat, 0.5)} ms p99 ${pct(lat, 0.99)} ms (${lat.length}), broker CPU ${
          perMB(cpuProduce)
        } ms/MB produce + ${perMB(cpuConsume)} consume` +
        (storage === "postgres"
          ? `, PostgreSQL ${perMB(pgCpuUsed)} ms/MB CPU, ${(x / MB).toFixed(1)} transactions/MB`
          : "") +
        (kind === "objects" ? `, ${(o / MB).toFixed(2)} objects (PUTs)/MB` : ""),
    );
  } finally {
    for (const b of brokers) await b.stop();
  }
}

/** CPU seconds of the benchmark's PostgreSQL: the postmaster (with its exited backends) and its live children. */
const postmaster = Number(
  readFileSync(`${pg.psql("SHOW data_directory").trim()}/postmaster.pid`, "utf8").split("\n")[0],
);
function pgCpu(): number {
  const f = readFileSync(`/proc/${postmaster}/stat`, "utf8").split(") ")[1].split(" ");
  let total = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100; // + cutime, cstime (reaped)
  for (const t of readdirSync(`/proc/${postmaster}/task`)) {
    const kids = readFileSync(`/proc/${postmaster}/task/${t}/children`, "utf8").trim();
    for (const k of kids ? kids.split(" ") : []) {
      try {
        total += cpuSeconds(Number(k));
      } catch {
        // exited meanwhile
      }
    }
  }
  return total;
}

function dbNameOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

try {
  await bench("file x1", "file", 1);
  await bench("postgres x1", "postgres", 1);
  await bench("postgres x3", "postgres", 3);
  await bench("objects x1", "objects", 1);
  await bench("objects x3", "objects", 3);
} finally {
  pg.destroy();
  await s3?.close();
}
