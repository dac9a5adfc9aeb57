// Soak run (issue #13): a broker child process under mixed load for a given time, with its memory
// and open file handles sampled, to show whether either grows.
//
//   bun scripts/soak.ts [--runtime bun|deno|node|binary] [--minutes 60] [--sample-seconds 30]
//       [--rate 2000] [--out samples.jsonl]
//
// Load (kafkajs, over TCP): one idempotent acks=all producer on a 6-partition topic at about --rate
// records/s (200-byte values); two long-lived consumers of one group; group churn: every 20 s a third
// member joins, consumes for 10 s and leaves (two rebalances); connection churn: every 30 s a short
// producer connects, sends, disconnects; topic churn: every 60 s a topic is created, written, read
// and deleted. Segments are small (16 MiB) and retention is by size (64 MiB a partition) so the
// data dir stays bounded and segment roll/delete runs all along.
// Samples (/proc/<pid>/status VmRSS, the count of /proc/<pid>/fd) go to stdout as JSON lines; the
// summary compares the first samples after warm-up with the last ones and fits a line through RSS.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import type { Consumer } from "kafkajs";
import { type RuntimeKind, startBrokerProcess } from "../tests/e2e/harness.ts";

process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const kind = arg("runtime", "bun") as RuntimeKind;
const minutes = Number(arg("minutes", "60"));
const sampleMs = Number(arg("sample-seconds", "30")) * 1000;
const rate = Number(arg("rate", "2000"));
const out = arg("out", "");
const TOPIC = "soak";
const GROUP = "soak-group";

type Sample = { t: number; rssMB: number; fds: number; produced: number; consumed: number; errors: number };

export function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const broker = await startBrokerProcess(kind, [
    "--log-level",
    "info",
    "-o",
    "log.segment.bytes=16777216",
    "-o",
    "log.retention.bytes=67108864",
    "-o",
    "log.retention.check.interval.ms=10000",
    "-o",
    "group.initial.rebalance.delay.ms=0",
  ]);
  const pid = broker.proc.pid;
  const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: "soak", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6 }] });

  const end = Date.now() + minutes * 60_000;
  let produced = 0;
  let consumed = 0;
  let errors = 0;
  const note = (what: string, e: unknown) => {
    errors++;
    if (errors <= 20) console.error(`soak: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  };
  const value = "v".repeat(200);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const produceLoop = (async () => {
    const perBatch = 100;
    const interval = 1000 / Math.max(rate / perBatch, 0.1);
    let seq = 0;
    while (Date.now() < end) {
      const started = Date.now();
      try {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: Array.from({ length: perBatch }, () => ({ key: `k${seq++ % 1000}`, value })),
        });
        produced += perBatch;
      } catch (e) {
        note("produce", e);
      }
      await sleep(Math.max(0, interval - (Date.now() - started)));
    }
  })();

  const member = async (name: string): Promise<Consumer> => {
    const c = kafka.consumer({ groupId: GROUP, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 500 });
    await c.connect();
    await c.subscribe({ topic: TOPIC, fromBeginning: false });
    await c.run({
      eachBatch: async ({ batch }) => {
        consumed += batch.messages.length;
      },
    }).catch((e) => note(`consumer ${name}`, e));
    return c;
  };
  const stable = [await member("a"), await member("b")];

  const every = (ms: number, fn: () => Promise<void>) =>
    (async () => {
      for (let i = 0; Date.now() + ms < end; i++) {
        await sleep(ms);
        try {
          await fn();
        } catch (e) {
          note("churn", e);
        }
      }
    })();
  let churnN = 0;
  const groupChurn = every(20_000, async () => {
    const c = await member(`churn-${churnN++}`);
    await sleep(10_000);
    await c.disconnect();
  });
  const connChurn = every(30_000, async () => {
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic: TOPIC, messages: [{ value: "short-lived" }] });
    produced++;
    await p.disconnect();
  });
  let topicN = 0;
  const topicChurn = every(60_000, async () => {
    const t = `soak-churn-${topicN++}`;
    await admin.createTopics({ topics: [{ topic: t, numPartitions: 2 }], waitForLeaders: true });
    const p = kafka.producer();
    await p.connect();
    await p.send({ topic: t, messages: Array.from({ length: 100 }, (_, i) => ({ value: `m${i}` })) });
    await p.disconnect();
    const c = kafka.consumer({ groupId: `${t}-g`, maxWaitTimeInMs: 200 });
    await c.connect();
    await c.subscribe({ topic: t, fromBeginning: true });
    let got = 0;
    await c.run({ eachBatch: async ({ batch }) => void (got += batch.messages.length) });
    const until = Date.now() + 15_000;
    while (got < 100 && Date.now() < until) await sleep(100);
    await c.disconnect();
    if (got < 100) note("topic churn", new Error(`${t}: read ${got} of 100`));
    await admin.deleteGroups([`${t}-g`]).catch(() => {});
    await admin.deleteTopics({ topics: [t] });
  });

  const started = Date.now();
  const samples: Sample[] = [];
  const sample = () => {
    const s: Sample = {
      t: Math.round((Date.now() - started) / 1000),
      rssMB: Math.round(rssMB(pid) * 10) / 10,
      fds: openFds(pid),
      produced,
      consumed,
      errors,
    };
    samples.push(s);
    console.log(JSON.stringify(s));
    if (out) writeFileSync(out, samples.map((x) => JSON.stringify(x)).join("\n") + "\n");
  };
  sample();
  while (Date.now() < end) {
    await sleep(Math.min(sampleMs, Math.max(0, end - Date.now())));
    sample();
  }
  await Promise.all([produceLoop, groupChurn, connChurn, topicChurn]);
  for (const c of stable) await c.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  await admin.disconnect().catch(() => {});
  sample();
  const code = await broker.stop();
  console.log(JSON.stringify({ summary: summarize(samples), runtime: kind, minutes, rate, brokerExit: code }));
}

/** Warm-up: the first 10% of samples (JIT, pools, page cache of the first segments) are left out of the fit. */
function summarize(samples: Sample[]) {
  const warm = samples.slice(Math.max(1, Math.floor(samples.length / 10)));
  const k = Math.max(1, Math.floor(warm.length / 5));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const head = warm.slice(0, k);
  const tail = warm.slice(-k);
  // Least squares over (hours, MB).
  const xs = warm.map((s) => s.t / 3600);
  const ys = warm.map((s) => s.rssMB);
  const mx = avg(xs);
  const my = avg(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  const last = samples[samples.length - 1];
  return {
    samples: samples.length,
    seconds: last.t,
    rssFirstMB: samples[0].rssMB,
    rssAfterWarmupMB: Math.round(avg(head.map((s) => s.rssMB))),
    rssEndMB: Math.round(avg(tail.map((s) => s.rssMB))),
    rssMinMB: Math.min(...warm.map((s) => s.rssMB)),
    rssMaxMB: Math.max(...warm.map((s) => s.rssMB)),
    rssSlopeMBPerHour: den > 0 ? Math.round((num / den) * 10) / 10 : 0,
    fdsMin: Math.min(...samples.map((s) => s.fds)),
    fdsMax: Math.max(...samples.map((s) => s.fds)),
    fdsEnd: last.fds,
    produced: last.produced,
    consumed: last.consumed,
    errors: last.errors,
  };
}

if (import.meta.main) {
  main().then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
  });
}
