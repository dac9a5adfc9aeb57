// The admin CLI (`chronik <command>`, #18) against a Chronik broker over TCP, the CLI itself run
// under Bun and under Deno, cross-checked with kcat (librdkafka) where records are involved.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Consumer as PConsumer, MessagesStreamModes, stringDeserializers } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { fetchFrom } from "../helpers/read.ts";
import { WireClient } from "../helpers/wire_client.ts";
import type { BrokerProcess } from "./harness.ts";
import { BUN, DENO, ensureBuilt, NODE, ROOT, startBrokerProcess } from "./harness.ts";

type Result = { code: number; out: string; err: string };

async function run(cmd: string[], input?: string, env: Record<string, string> = {}): Promise<Result> {
  const p = Bun.spawn(cmd, {
    cwd: ROOT,
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, HOME: "/nonexistent", ...env },
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

const CLI: Record<string, string[]> = {
  bun: [BUN, `${ROOT}/adapters/bun.ts`],
  deno: [DENO, "run", "-A", "--quiet", `${ROOT}/adapters/deno.ts`],
  node: [NODE, `${ROOT}/dist/chronik.mjs`],
};

/** A Bun broker process for the enclosing describe block: started before its tests, stopped after them. */
function suiteBroker(args: string[]) {
  const s = {
    b: undefined as unknown as BrokerProcess,
    addr: "",
    /** The CLI under Bun, pointed at this broker with -b. */
    cli: (cmd: string[]) => run([...CLI.bun, "-b", s.addr, ...cmd]),
  };
  beforeAll(async () => {
    s.b = await startBrokerProcess("bun", args);
    s.addr = `${s.b.host}:${s.b.port}`;
  }, 60_000);
  afterAll(async () => {
    await s.b?.stop();
  });
  return s;
}

describe("chronik admin CLI against a Chronik broker", () => {
  const broker = suiteBroker([
    "-o",
    "authorizer.class.name=chronik",
    "-o",
    "super.users=User:ANONYMOUS",
  ]);

  for (const kind of ["bun", "deno"]) {
    const cli = (args: string[], input?: string, env?: Record<string, string>) =>
      run([...CLI[kind], ...args], input, { CHRONIK_BROKERS: broker.addr, ...env });
    const ok = async (args: string[], input?: string) => {
      const r = await cli(args, input);
      if (r.code !== 0) throw new Error(`chronik ${args.join(" ")} exited ${r.code}: ${r.err}`);
      return r.out;
    };
    const topic = `cli-${kind}`;

    test(`${kind}: topic create, list, describe, alter-config, add-partitions`, async () => {
      expect(await ok(["topic", "create", topic, "-p", "2", "-c", "retention.ms=3600000"])).toMatch(
        new RegExp(`^${topic} +created +2 +1$`, "m"),
      );
      // Exists: exit 1 with Kafka's error name; --if-not-exists makes it fine.
      const again = await cli(["topic", "create", topic]);
      expect(again.code).toBe(1);
      expect(again.err).toContain("TOPIC_ALREADY_EXISTS");
      expect(await ok(["topic", "create", topic, "--if-not-exists"])).toContain("exists");
      expect(await ok(["topic", "list"])).toMatch(new RegExp(`^${topic} +2 +1$`, "m"));
      const list = JSON.parse(await ok(["topic", "list", "--format", "json"]));
      expect(list).toContainEqual({ name: topic, partitions: 2, replicas: 1 });
      await ok(["topic", "alter-config", topic, "--set", "cleanup.policy=compact,delete"]);
      const d = JSON.parse(await ok(["topic", "describe", topic, "--format", "json"]));
      expect(d.partitions.length).toBe(2);
      expect(d.configs).toContainEqual({
        name: "cleanup.policy",
        value: "compact,delete",
        source: "DYNAMIC_TOPIC_CONFIG",
        readOnly: false,
      });
      await ok(["topic", "add-partitions", topic, "-p", "3"]);
      expect(JSON.parse(await ok(["topic", "describe", topic, "--format", "json"])).partitions.length).toBe(3);
    }, 60_000);

    test(
      `${kind}: produce from stdin with keys and headers; consume with formats, JSON, offsets; kcat agrees`,
      async () => {
        await ok(["produce", topic, "-K", ":", "-H", "src=cli", "-p", "0"], "k1:v1\nk2:v2\nk3:v3\n");
        // The topic is compact,delete (first test): a record without a key is refused, as Kafka does.
        const keyless = await cli(["produce", topic, "-p", "1", "--value", "solo"]);
        expect(keyless.code).toBe(1);
        expect(keyless.err).toContain("INVALID_RECORD");
        await ok(["produce", topic, "-p", "1", "--key", "s", "--value", "solo"]);
        expect(await ok(["consume", topic, "-p", "0", "-f", "%k=%v@%o %h\\n"])).toBe(
          "k1=v1@0 src=cli\nk2=v2@1 src=cli\nk3=v3@2 src=cli\n",
        );
        expect(await ok(["consume", topic, "-p", "0", "-o", "-1", "-f", "%v\\n"])).toBe("v3\n");
        expect(await ok(["consume", topic, "-p", "0", "-o", "1", "-n", "1", "-f", "%v\\n"])).toBe("v2\n");
        const lines = (await ok(["consume", topic, "--format", "json"])).trim().split("\n").map((l) => JSON.parse(l));
        expect(lines.length).toBe(4);
        expect(lines.find((l) => l.value === "solo")).toMatchObject({ partition: 1, offset: 0, key: "s" });
        // kcat (librdkafka) reads what the CLI wrote.
        const k = await run(["kcat", "-C", "-b", broker.addr, "-t", topic, "-p", "0", "-e", "-q", "-f", "%k=%s\\n"]);
        expect(k.out).toBe("k1=v1\nk2=v2\nk3=v3\n");
        // And the CLI reads what kcat wrote.
        await run(["kcat", "-P", "-b", broker.addr, "-t", topic, "-p", "2", "-k", "kk"], "from-kcat\n");
        expect(await ok(["consume", topic, "-p", "2", "-f", "%k:%v\\n"])).toBe("kk:from-kcat\n");
      },
      60_000,
    );

    test(`${kind}: group seek (dry run, earliest, offset), describe with lag, delete`, async () => {
      const group = `g-${kind}`;
      const dry = await ok(["group", "seek", group, "--topic", topic, "--to", "earliest", "--dry-run"]);
      expect(dry).toMatch(/^cli-\S+ +0 +- +0$/m);
      const missing = JSON.parse(await ok(["group", "list", "--format", "json"]));
      expect(missing.some((g: { group: string }) => g.group === group)).toBe(false);
      await ok(["group", "seek", group, "--topic", `${topic}:0`, "--to", "offset:1"]);
      const d = JSON.parse(await ok(["group", "describe", group, "--format", "json"]));
      expect(d.offsets).toEqual([{
        topic,
        partition: 0,
        currentOffset: 1,
        endOffset: 3,
        lag: 2,
        memberId: null,
        clientId: null,
        host: null,
      }]);
      expect(d.totalLag).toBe(2);
      await ok(["group", "seek", group, "--topic", topic, "--to", "duration:PT1H"]);
      expect(JSON.parse(await ok(["group", "describe", group, "--format", "json"])).totalLag).toBe(5);
      await ok(["group", "delete", group]);
      const gone = await cli(["group", "describe", group]);
      expect(gone.code === 0 ? JSON.stringify(gone.out) : gone.err).toMatch(/Dead|GROUP_ID_NOT_FOUND|no committed/);
    }, 60_000);

    test(`${kind}: trim, acl, user, quota, cluster, txn, producer`, async () => {
      expect(await ok(["topic", "trim", topic, "-p", "0", "--offset", "2"])).toMatch(/^0 +2$/m);
      expect(await ok(["consume", topic, "-p", "0", "-f", "%v\\n"])).toBe("v3\n");

      await ok(["acl", "create", "--allow", "alice", "--operation", "read", "--topic", topic]);
      const acls = JSON.parse(await ok(["acl", "list", "--topic", topic, "--format", "json"]));
      expect(acls).toContainEqual({
        principal: "User:alice",
        permission: "allow",
        operation: "read",
        resourceType: "topic",
        resourceName: topic,
        pattern: "literal",
        host: "*",
      });
      await ok(["acl", "delete", "--principal", "alice", "--topic", topic]);
      expect(JSON.parse(await ok(["acl", "list", "--topic", topic, "--format", "json"]))).toEqual([]);

      const user = `u-${kind}`;
      await ok(["user", "create", user, "--new-password", "pw", "--mechanism", "SCRAM-SHA-512"]);
      expect(JSON.parse(await ok(["user", "list", "--format", "json"]))).toContainEqual({
        user,
        mechanism: "SCRAM-SHA-512",
        iterations: 4096,
      });
      await ok(["user", "delete", user]);

      await ok(["quota", "alter", "--for-client", `c-${kind}`, "--set", "producer_byte_rate=1048576"]);
      expect(JSON.parse(await ok(["quota", "describe", "--for-client", `c-${kind}`, "--format", "json"]))).toEqual([
        { entity: `client-id=c-${kind}`, key: "producer_byte_rate", value: 1048576 },
      ]);

      const info = JSON.parse(await ok(["cluster", "info", "--format", "json"]));
      expect(info.brokers).toEqual([{ id: 0, host: "127.0.0.1", port: broker.b.port, rack: null }]);
      expect(typeof info.clusterId).toBe("string");
      await ok(["cluster", "config", "set", "log.cleaner.backoff.ms=20000"]);
      expect(await ok(["cluster", "config", "get", "log.cleaner.backoff.ms"])).toMatch(
        /^log\.cleaner\.backoff\.ms +20000 +DYNAMIC_BROKER_CONFIG/m,
      );
      const info2 = JSON.parse(await ok(["cluster", "info", "--format", "json"]));
      expect(info2.dynamicConfigs).toContainEqual({
        name: "log.cleaner.backoff.ms",
        value: "20000",
        source: "DYNAMIC_BROKER_CONFIG",
      });
      expect(info2.features.map((f: { name: string }) => f.name)).toContain("group.version");
      const ro = await cli(["cluster", "config", "set", "num.partitions=3"]);
      expect(ro.code).toBe(1);
      expect(ro.err).toContain("INVALID_CONFIG");

      expect((await cli(["txn", "list"])).code).toBe(0);
      expect(await ok(["producer", "describe", topic])).toMatch(/^PARTITION +PRODUCER_ID/);

      await ok(["topic", "delete", topic]);
      const gone = await cli(["topic", "describe", topic]);
      expect(gone.code).toBe(1);
      expect(gone.err).toMatch(/^chronik topic describe: UNKNOWN_TOPIC_OR_PARTITION: topic cli-\S+ does not exist \(/);
    }, 60_000);

    test(`${kind}: exit codes: 2 for usage, 3 when no broker answers`, async () => {
      const usage = await cli(["topic", "create"]);
      expect(usage.code).toBe(2);
      expect(usage.err).toBe("chronik topic create: missing topic name\n");
      const down = await cli(["topic", "list"], undefined, { CHRONIK_BROKERS: "127.0.0.1:1" });
      expect(down.code).toBe(3);
      expect(down.err).toMatch(/^chronik topic list: NETWORK_EXCEPTION: cannot connect to 127\.0\.0\.1:1/);
      const flagBeforeCommand = await run([...CLI[kind], "-b", broker.addr, "cluster", "info", "--format", "json"]);
      expect(flagBeforeCommand.code).toBe(0);
    }, 60_000);
  }

  test("produce --compression: each codec is stored as sent and kcat (librdkafka) reads it back", async () => {
    const topic = "cli-codecs";
    const codecs = ["none", "gzip", "snappy", "lz4", "zstd"];
    const made = await broker.cli(["topic", "create", topic, "-p", String(codecs.length)]);
    expect(made.err).toBe("");
    const c = await WireClient.connect(broker.b.port);
    try {
      for (const [p, codec] of codecs.entries()) {
        const input = Array.from({ length: 20 }, (_, i) => `${codec}-${i}-${"x".repeat(50)}`).join("\n") + "\n";
        const r = await run(
          [...CLI.bun, "-b", broker.addr, "produce", topic, "-p", String(p), "--compression", codec],
          input,
        );
        expect({ codec, code: r.code, err: r.err.trim() }).toEqual({
          codec,
          code: 0,
          err: `20 record(s) to cli-codecs: ${p}@0..19`,
        });
        // The batch's attributes (bits 0-2) name the codec: the CLI compressed it, the broker kept it so.
        const fetched = await fetchFrom(c, topic, 0n, p);
        const batch = fetched.records as Uint8Array;
        expect({ codec, id: (batch[21] << 8 | batch[22]) & 7 }).toEqual({ codec, id: p });
        const k = await run(["kcat", "-C", "-b", broker.addr, "-t", topic, "-p", String(p), "-e", "-q", "-f", "%s\n"]);
        expect({ codec, out: k.out }).toEqual({ codec, out: input });
      }
      const bad = await broker.cli(["produce", topic, "--compression", "brotli", "--value", "x"]);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("--compression must be one of");
    } finally {
      c.close();
    }
  }, 60_000);
});

describe("chronik txn: a hanging transaction, found and aborted", () => {
  const broker = suiteBroker([]);

  test("txn list/describe and producer describe show it; txn abort writes the ABORT marker", async () => {
    const cli = broker.cli;
    expect((await cli(["topic", "create", "txn-t"])).code).toBe(0);
    const kafka = new Kafka({ brokers: [broker.addr], clientId: "hang", logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: "hanging-tx", idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic: "txn-t", messages: [{ value: "never-committed" }] });
    // The producer goes away without committing: the transaction hangs (until its timeout).
    const list = JSON.parse((await cli(["txn", "list", "--state", "Ongoing", "--format", "json"])).out);
    expect(list).toContainEqual(expect.objectContaining({ transactionalId: "hanging-tx", state: "Ongoing" }));
    const d = JSON.parse((await cli(["txn", "describe", "hanging-tx", "--format", "json"])).out);
    expect(d).toMatchObject({ transactionalId: "hanging-tx", state: "Ongoing", partitions: "txn-t:0" });
    const producers = JSON.parse((await cli(["producer", "describe", "txn-t", "--format", "json"])).out);
    expect(producers).toEqual([expect.objectContaining({ partition: 0, currentTxnStartOffset: 0 })]);
    // read_committed sees nothing past the open transaction.
    expect((await cli(["consume", "txn-t", "--isolation", "read_committed", "-f", "%v\\n"])).out).toBe("");
    const abort = await cli(["txn", "abort", "--topic", "txn-t", "--partition", "0"]);
    expect(abort.err).toBe("");
    expect(abort.code).toBe(0);
    const after = JSON.parse((await cli(["producer", "describe", "txn-t", "--format", "json"])).out);
    expect(after.every((p: { currentTxnStartOffset: number }) => p.currentTxnStartOffset === -1)).toBe(true);
    // Aborted: read_committed skips the record, read_uncommitted still shows it.
    expect((await cli(["consume", "txn-t", "--isolation", "read_committed", "-f", "%v\\n"])).out).toBe("");
    expect((await cli(["consume", "txn-t", "-f", "%v\\n"])).out).toBe("never-committed\n");
    await producer.disconnect().catch(() => {});
  }, 60_000);
});

describe("chronik group with a live kafkajs consumer", () => {
  const broker = suiteBroker(["-o", "group.initial.rebalance.delay.ms=0"]);

  test(
    "describe shows the member, its assignment and lag; seek refuses an active group (NON_EMPTY_GROUP)",
    async () => {
      const cli = broker.cli;
      expect((await cli(["topic", "create", "live-t", "-p", "2"])).code).toBe(0);
      expect((await cli(["produce", "live-t", "-p", "0", "--value", "a", "--value", "b"])).code).toBe(0);
      const kafka = new Kafka({ brokers: [broker.addr], clientId: "live-client", logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: "live-g" });
      await consumer.connect();
      await consumer.subscribe({ topic: "live-t", fromBeginning: true });
      let seen = 0;
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 100,
        eachMessage: async () => {
          seen++;
        },
      });
      try {
        for (let i = 0; i < 200 && seen < 2; i++) await Bun.sleep(50);
        await consumer.commitOffsets([{ topic: "live-t", partition: 0, offset: "2" }]);
        const d = JSON.parse((await cli(["group", "describe", "live-g", "--format", "json"])).out);
        expect(d.state).toBe("Stable");
        expect(d.members.length).toBe(1);
        expect(d.members[0]).toMatchObject({ clientId: "live-client", assignment: { "live-t": [0, 1] } });
        expect(d.offsets).toContainEqual(expect.objectContaining({
          topic: "live-t",
          partition: 0,
          currentOffset: 2,
          endOffset: 2,
          lag: 0,
          clientId: "live-client",
        }));
        const seek = await cli(["group", "seek", "live-g", "--topic", "live-t", "--to", "earliest"]);
        expect(seek.code).toBe(1);
        expect(seek.err).toMatch(/^chronik group seek: NON_EMPTY_GROUP: group live-g has 1 active member\(s\)/);
        expect((await cli(["group", "seek", "live-g", "--topic", "live-t", "--to", "earliest", "--dry-run"])).code)
          .toBe(0);
      } finally {
        await consumer.disconnect();
      }
    },
    60_000,
  );
});

describe("consume -G alongside kcat's balanced consumer in one group", () => {
  const broker = suiteBroker(["-o", "group.initial.rebalance.delay.ms=0"]);

  test("the two members split the partitions after a rebalance", async () => {
    const cli = broker.cli;
    expect((await cli(["topic", "create", "shared-t", "-p", "4"])).code).toBe(0);
    // Until the first member joins, the group does not exist (GROUP_ID_NOT_FOUND on Kafka 4 semantics).
    const describe = async () => {
      const r = await cli(["group", "describe", "shared-g", "--format", "json"]);
      return r.code === 0 ? JSON.parse(r.out) : { state: "", members: [] };
    };
    const ours = Bun.spawn([...CLI.bun, "-b", broker.addr, "consume", "shared-t", "-G", "shared-g", "-F", "-q"], {
      cwd: ROOT,
      stdout: "ignore",
      stderr: "pipe",
    });
    let kcat: Bun.Subprocess | null = null;
    try {
      let d = await describe();
      for (let i = 0; i < 100 && !(d.state === "Stable" && d.members.length === 1); i++) {
        await Bun.sleep(100);
        d = await describe();
      }
      expect(d.members[0].assignment).toEqual({ "shared-t": [0, 1, 2, 3] });
      kcat = Bun.spawn(["kcat", "-b", broker.addr, "-G", "shared-g", "-q", "shared-t"], {
        stdout: "ignore",
        stderr: "ignore",
      });
      const covered = (x: typeof d) =>
        x.members.flatMap((m: { assignment: Record<string, number[]> }) => m.assignment["shared-t"] ?? []).sort();
      for (let i = 0; i < 200 && !(d.state === "Stable" && d.members.length === 2 && covered(d).length === 4); i++) {
        await Bun.sleep(100);
        d = await describe();
      }
      expect(d.members.length).toBe(2);
      expect(covered(d)).toEqual([0, 1, 2, 3]);
      const chronik = d.members.find((m: { clientId: string }) => m.clientId === "chronik-cli");
      expect(chronik.assignment["shared-t"].length).toBe(2);
    } finally {
      ours.kill("SIGTERM");
      kcat?.kill("SIGTERM");
      await ours.exited;
      await kcat?.exited;
    }
  }, 60_000);
});

describe("chronik group with a KIP-848 consumer (@platformatic/kafka, groupProtocol consumer)", () => {
  const broker = suiteBroker([]);

  test("describe shows the member and its server-side assignment", async () => {
    const cli = broker.cli;
    expect((await cli(["topic", "create", "kip848-t", "-p", "2"])).code).toBe(0);
    const c = new PConsumer({
      clientId: "pk-cli",
      groupId: "kip848-g",
      groupProtocol: "consumer",
      bootstrapBrokers: [broker.addr],
      deserializers: stringDeserializers,
      maxWaitTime: 200,
    });
    const stream = await c.consume(
      { topics: ["kip848-t"], mode: MessagesStreamModes.EARLIEST } as never,
    );
    stream.on("data", () => {});
    try {
      let last = "";
      let d: { protocolType: string; members: { clientId: string; assignment: Record<string, number[]> }[] } | null =
        null;
      for (let i = 0; i < 100; i++) {
        const r = await cli(["group", "describe", "kip848-g", "--format", "json"]);
        last = r.err;
        if (r.code === 0) {
          d = JSON.parse(r.out);
          if (d!.members.length === 1 && (d!.members[0].assignment["kip848-t"] ?? []).length === 2) break;
        }
        await Bun.sleep(100);
      }
      expect(last).toBe("");
      expect(d?.protocolType).toBe("consumer");
      expect(d?.members[0].clientId).toBe("pk-cli");
      expect(d?.members[0].assignment["kip848-t"].sort()).toEqual([0, 1]);
      const list = JSON.parse((await cli(["group", "list", "--format", "json"])).out);
      expect(list).toContainEqual(expect.objectContaining({ group: "kip848-g", type: "consumer" }));
    } finally {
      await stream.close();
      await c.close();
    }
  }, 60_000);
});

describe("chronik admin CLI with SASL", () => {
  const broker = suiteBroker([
    "-o",
    "listeners=SASL_PLAINTEXT://127.0.0.1:0",
    "-o",
    'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";',
    "--add-scram",
    "SCRAM-SHA-256=[name=bob,password=bob-secret]",
  ]);

  test(
    "PLAIN and SCRAM from flags and from a profile file; a wrong password is SASL_AUTHENTICATION_FAILED",
    async () => {
      const cli = (args: string[], env: Record<string, string> = {}) => run([...CLI.bun, ...args], undefined, env);
      const plain = await cli([
        "cluster",
        "info",
        "-b",
        broker.addr,
        "--sasl-mechanism",
        "PLAIN",
        "--user",
        "alice",
        "--password",
        "alice-secret",
      ]);
      expect(plain.code).toBe(0);
      const profile = `${ROOT}/node_modules/.cache-chronik-profile-${process.pid}.properties`;
      await Bun.write(
        profile,
        `brokers=${broker.addr}\nsasl.mechanism=SCRAM-SHA-256\nsasl.username=bob\nsasl.password=bob-secret\n`,
      );
      try {
        const scram = await cli(["topic", "list", "--format", "json"], { CHRONIK_PROFILE: profile });
        expect(scram.err).toBe("");
        expect(scram.code).toBe(0);
        const bad = await cli(["topic", "list", "--profile", profile, "--password", "wrong"]);
        expect(bad.code).toBe(1);
        expect(bad.err).toContain("SASL_AUTHENTICATION_FAILED");
      } finally {
        await Bun.file(profile).delete();
      }
    },
    60_000,
  );
});

describe("chronik admin CLI over TLS", () => {
  let b: BrokerProcess;
  let dir: string;
  let cert: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(`${tmpdir()}/chronik-cli-tls-`);
    const made = await caAndLeaf(dir);
    cert = made.ca;
    b = await startBrokerProcess("bun", [
      "-o",
      "listeners=SSL://127.0.0.1:0",
      "-o",
      "ssl.keystore.type=PEM",
      "-o",
      `ssl.keystore.location=${made.keystore}`,
    ]);
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const kind of ["bun", "deno"]) {
    test(
      `${kind}: --tls --tls-ca verifies the broker's certificate (against --tls-server-name when given); without the CA the handshake fails (exit 3)`,
      async () => {
        const addr = `127.0.0.1:${b.port}`;
        const ok = await run([
          ...CLI[kind],
          "cluster",
          "info",
          "--format",
          "json",
          "-b",
          addr,
          "--tls",
          "--tls-ca",
          cert,
        ]);
        expect(ok.err).toBe("");
        expect(JSON.parse(ok.out).brokers[0].port).toBe(b.port);
        const untrusted = await run([...CLI[kind], "cluster", "info", "-b", addr, "--tls"]);
        expect(untrusted.code).toBe(3);
        expect(untrusted.err).toMatch(/^chronik cluster info: NETWORK_EXCEPTION: /);
        // --tls-server-name: the certificate is checked against that name, not the address dialed.
        const withName = (name: string) =>
          run([...CLI[kind], "cluster", "info", "-b", addr, "--tls-ca", cert, "--tls-server-name", name]);
        const named = await withName("localhost");
        expect(named.err).toBe("");
        expect(named.code).toBe(0);
        const wrong = await withName("other.test");
        expect(wrong.code).toBe(3);
        expect(wrong.err).toMatch(/^chronik cluster info: NETWORK_EXCEPTION: .*(other\.test|name|hostname|altname)/i);
        // --tls-insecure: no check under Bun and Node; Deno has no such switch per connection and says so.
        const insecure = await run([...CLI[kind], "cluster", "info", "-b", addr, "--tls-insecure"]);
        if (kind === "deno") {
          expect(insecure.code).toBe(3);
          expect(insecure.err).toContain("--tls-insecure has no effect under Deno");
        } else expect({ code: insecure.code, err: insecure.err }).toEqual({ code: 0, err: "" });
      },
      60_000,
    );
  }
});

/** A CA and a leaf certificate for 127.0.0.1 signed by it (rustls, under Deno, refuses a CA as the server's own certificate). */
async function caAndLeaf(dir: string): Promise<{ ca: string; keystore: string }> {
  const sh = async (cmd: string[]) => {
    const p = Bun.spawn(cmd, { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`${cmd.join(" ")}: ${err}`);
  };
  await sh([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=chronik-test-ca",
  ]);
  await sh([
    "openssl",
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Bun.write(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  await sh([
    "openssl",
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
  await Bun.write(
    `${dir}/keystore.pem`,
    (await Bun.file(`${dir}/leaf.key`).text()) + (await Bun.file(`${dir}/leaf.pem`).text()),
  );
  return { ca: `${dir}/ca.pem`, keystore: `${dir}/keystore.pem` };
}
