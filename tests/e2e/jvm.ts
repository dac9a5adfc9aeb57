// The Maven project in tests/java (kafka-clients, Kafka Streams and Kafka's tools, one Apache Kafka release):
// built once when its classes are missing or older than its sources (.ci/run builds it first), then run as
// `java chronik.Main <bootstrap> [case...]`, which prints one `CASE ok|fail <name> ...` line per case.
import { existsSync, readdirSync, statSync } from "node:fs";
import { ROOT } from "./harness.ts";

export const JAVA_DIR = `${ROOT}/tests/java`;
const CLASSPATH = `${JAVA_DIR}/target/classes:${JAVA_DIR}/target/lib/*`;

/** Why the Java tests cannot run here (no JDK or Maven on PATH), or null. A failed build is not a reason: it throws. */
export function javaMissing(): string | null {
  if (!Bun.which("java")) return "no `java` on PATH";
  if (!Bun.which("mvn")) return "no `mvn` on PATH";
  return null;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Compiles tests/java and copies its dependencies to target/lib when anything is missing or stale. */
export function buildJava(): void {
  const stamp = `${JAVA_DIR}/target/lib/kafka-clients-4.4.0.jar`;
  const classes = `${JAVA_DIR}/target/classes/chronik/Main.class`;
  const sources = Math.max(newest(`${JAVA_DIR}/src`), statSync(`${JAVA_DIR}/pom.xml`).mtimeMs);
  if (existsSync(stamp) && existsSync(classes) && statSync(classes).mtimeMs >= sources) return;
  const p = Bun.spawnSync(["mvn", "-q", "-B", "compile", "dependency:copy-dependencies"], {
    cwd: JAVA_DIR,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) {
    throw new Error(`mvn build of tests/java failed (${p.exitCode}):\n${p.stdout.toString()}${p.stderr.toString()}`);
  }
}

/** The names of the cases that chronik.Main knows, in its order. */
export function javaCases(): string[] {
  const p = Bun.spawnSync(["java", "-cp", CLASSPATH, "chronik.Main", "--list"], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`chronik.Main --list failed: ${p.stderr.toString()}`);
  return p.stdout.toString().trim().split("\n");
}

export type CaseResult = { ok: boolean; line: string; detail: string };

/** Runs the named cases (all when none) in one JVM against a broker; one result per case, stderr kept for failures. */
export async function runJava(
  bootstrap: string,
  cases: string[],
  runId: string,
  mainClass = "chronik.Main",
): Promise<{ results: Map<string, CaseResult>; stderr: string; code: number }> {
  const p = Bun.spawn([
    "java",
    "-Xmx768m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-cp",
    CLASSPATH,
    mainClass,
    bootstrap,
    ...cases,
  ], {
    cwd: JAVA_DIR,
    env: { ...process.env, CHRONIK_RUN: runId },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const results = new Map<string, CaseResult>();
  for (const line of out.split("\n")) {
    const m = /^CASE (ok|fail) (\S+)/.exec(line);
    if (!m) continue;
    const start = err.indexOf(`case ${m[2]} failed:`);
    results.set(m[2], {
      ok: m[1] === "ok",
      line,
      detail: start < 0
        ? ""
        : err.slice(start, err.indexOf("\n\n", start) < 0 ? start + 4000 : err.indexOf("\n\n", start)),
    });
  }
  return { results, stderr: err, code };
}
