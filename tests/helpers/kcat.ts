// kcat (librdkafka's CLI) as a test client: run it, read cluster metadata with it, poll until the cluster
// shows what a test waits for.

/** Runs `kcat args`, `input` on stdin; its exit code, stdout and stderr (for a test that expects it to fail). */
export async function kcatRun(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(["kcat", ...args], {
    stdin: input === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (input !== undefined) {
    p.stdin!.write(input);
    p.stdin!.end();
  }
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

/** Runs `kcat args`, `input` on stdin; its stdout, or throws with its stderr on a non-zero exit. */
export async function kcat(args: string[], input?: string): Promise<string> {
  const { code, out, err } = await kcatRun(args, input);
  if (code !== 0) throw new Error(`kcat ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

/** `kcat -C` of one partition from its start (or as `extra` says) to its end, each record printed as `format`. */
export function kcatRead(
  addr: string,
  topic: string,
  partition: number,
  format = "%s\n",
  extra: string[] = [],
): Promise<string> {
  return kcat(["-b", addr, "-C", "-t", topic, "-p", String(partition), ...extra, "-e", "-f", format]);
}

export type Meta = {
  brokers: { id: number; name: string }[];
  topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
};

/** `kcat -L -J` (of one topic, or all). */
export async function metadata(addr: string, topic?: string): Promise<Meta> {
  return JSON.parse(await kcat(["-b", addr, "-L", "-J", ...(topic ? ["-t", topic] : [])]));
}

/**
 * Polls until `ok` holds (bounded: 150 tries, 200 ms apart); the last value either way. A failed poll after the first
 * (a broker just killed) keeps the previous value.
 */
export async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await get();
  for (let i = 0; i < 150 && !ok(v); i++) {
    await Bun.sleep(200);
    v = await get().catch(() => v);
  }
  return v;
}

/** kcat flags to log in over SASL_PLAINTEXT as `user` (password `<user>-secret` unless given). */
export const saslKcat = (user: string, mechanism = "PLAIN", password = `${user}-secret`): string[] => [
  "-X",
  "security.protocol=SASL_PLAINTEXT",
  "-X",
  `sasl.mechanisms=${mechanism}`,
  "-X",
  `sasl.username=${user}`,
  "-X",
  `sasl.password=${password}`,
];
