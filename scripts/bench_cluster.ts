// Brokers end to end, 1 and 3 of them, on file and PostgreSQL storage, driven over loopback TCP:
//   bun scripts/bench_cluster.ts [--mib 32] [--partitions 6] [--latency 300] [--only "objects x1"] [--idempotence false] [--in-flight 5]
// For each setup (file x1; postgres x1; postgres x3 sharing one PostgreSQL; Bun brokers, the benchmark's own
// private PostgreSQL from tests/helpers/postgres.ts with fsync=off): kcat (librdkafka) produces --mib MiB of
// 1000-byte records, acks=all, idempotent, into --partitions partitions through every broker; kcat consumes them all
// back; then kafkajs sends --latency records 10 ms apart (acks=all) while a streaming kcat consumer stamps their
// arrival: e2e latency p50/p99. Reports produce and consume MB/s, broker CPU seconds per MB (user+system from
// /proc/<pid>/stat, summed over the brokers, produce and consume together) and PostgreSQL transactions per MB
// (pg_stat_database; each statement the engine sends is its own transaction; lease heartbeats included).
// "file x3" is not a cluster (file storage is one broker), so it is not measured. "objects x1": PostgreSQL with
// record data in a private versitygw (chronik.object.store, default flush.ms). --only runs the named setups
// (comma-separated); --idempotence false makes the kcat producer plain, --in-flight N sets its
// max.in.flight.requests.per.connection (librdkafka caps it at 5 with idempotence), to compare.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerProcess } from "../tests/e2e/harness.ts";
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
const RECORD = 1000;
const N = Math.ceil((MIB * 1048576) / RECORD);
const MB = (N * RECORD) / 1e6;

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, load average ${
    loadavg().map((l) => l.toFixed(1)).join(" ")
  } (shared); bun ${Bun.version}; ${N} records of ${RECORD} B (${MB.toFixed(1)} MB), ${P} partitions; kcat ${
    IDEMPOTENCE ? "idempotent" : "not idempotent"
  }`,
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
    env = { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY, AWS_REGION: S3_REGION };
  }
  const dbName = dbNameOf(db);
  const xacts = () =>
    storage === "postgres"
      ? Number(pg.psql(`SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '${dbName}'`))
      : 0;
  const brokers: BrokerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const extra = storage === "postgres" ? ["--storage", db, "--node-id", String(i + 1), ...objectArgs] : [];
      brokers.push(await startBrokerProcess("bun", [...extra, "-o", "group.initial.rebalance.delay.ms=0"], env));
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
    const cpu0 = brokers.reduce((s, b) => s + cpuSeconds(b.proc.pid), 0);
    const x0 = xacts();
    let t = performance.now();
    await run([
      "kcat",
      "-b",
      bootstrap,
      "-P",
      "-t",
      "bench",
      "-X",
      "acks=all",
      "-X",
      `enable.idempotence=${IDEMPOTENCE}`,
      ...(IN_FLIGHT ? ["-X", `max.in.flight.requests.per.connection=${IN_FLIGHT}`] : []),
      "-X",
      "linger.ms=5",
    ], payload);
    const produceS = (performance.now() - t) / 1000;
    t = performance.now();
    const out = await run(["kcat", "-b", bootstrap, "-C", "-t", "bench", "-o", "beginning", "-e", "-q", "-f", "\n"]);
    const consumeS = (performance.now() - t) / 1000;
    const got = out.length;
    if (got !== N) throw new Error(`consumed ${got}/${N}`);
    const cpu = brokers.reduce((s, b) => s + cpuSeconds(b.proc.pid), 0) - cpu0;
    await Bun.sleep(1200); // pg_stat flushes at most once a second
    const x = xacts() - x0;

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
    console.log(
      `${name.padEnd(12)} produce ${(MB / produceS).toFixed(1)} MB/s, consume ${(MB / consumeS).toFixed(1)} MB/s, ` +
        `e2e p50 ${pct(lat, 0.5)} ms p99 ${pct(lat, 0.99)} ms (${lat.length}), broker CPU ${
          (cpu / MB * 1000).toFixed(1)
        } ms/MB` + (storage === "postgres" ? `, PostgreSQL ${(x / MB).toFixed(1)} transactions/MB` : ""),
    );
  } finally {
    for (const b of brokers) await b.stop();
  }
}

function dbNameOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

try {
  await bench("file x1", "file", 1);
  await bench("postgres x1", "postgres", 1);
  await bench("postgres x3", "postgres", 3);
  await bench("objects x1", "objects", 1);
} finally {
  pg.destroy();
  await s3?.close();
}
