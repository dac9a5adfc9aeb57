// The Maven project in tests/java (kafka-clients, Kafka Streams and Kafka's tools, one Apache Kafka release):
// built once when its classes are missing or older than its sources (.ci/run builds it first), then run as
// `java chronik.Main <bootstrap> [case...]`, which prints one `CASE ok|fail <name> ...` line per case.
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { ROOT } from "./harness.ts";
import { withBuildLockSync } from "../helpers/build_lock.ts";
import type { CaseResult } from "./cases.ts";
import { runCases } from "./cases.ts";

export const JAVA_DIR = `${ROOT}/tests/java`;
export const JAVA_CLASSPATH = `${JAVA_DIR}/target/classes:${JAVA_DIR}/target/lib/*`;

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

/** Compiles tests/java and copies its dependencies (and Connect's, connect/pom.xml) when missing or stale. */
export function buildJava(): void {
  // Several test files (in parallel workers) build it: one at a time, each checking again under the lock.
  withBuildLockSync(`${JAVA_DIR}/target`, buildJavaLocked);
}

function buildJavaLocked(): void {
  const stamp = `${JAVA_DIR}/target/lib/kafka-clients-4.4.0.jar`;
  const classes = `${JAVA_DIR}/target/classes/chronik/Main.class`;
  const sources = Math.max(newest(`${JAVA_DIR}/src`), statSync(`${JAVA_DIR}/pom.xml`).mtimeMs);
  if (!(existsSync(stamp) && existsSync(classes) && statSync(classes).mtimeMs >= sources)) {
    mvn(["-q", "-B", "compile", "dependency:copy-dependencies"]);
  }
  // Connect 4.4.0 in connect/target/lib, Kafka's file connectors (connect-file 4.3.1) in connect/target/plugins.
  // The copied jars keep the registry's dates, so a stamp written after the build is what is compared with the pom.
  const connect = `${JAVA_DIR}/connect/target/lib/connect-runtime-4.4.0.jar`;
  const plugin = `${JAVA_DIR}/connect/target/plugins/connect-file/connect-file-4.3.1.jar`;
  const built = `${JAVA_DIR}/connect/target/built.stamp`;
  const fresh = existsSync(built) && statSync(built).mtimeMs >= statSync(`${JAVA_DIR}/connect/pom.xml`).mtimeMs;
  if (!(existsSync(connect) && existsSync(plugin) && fresh)) {
    mvn(["-q", "-B", "-f", "connect/pom.xml", "compile", "dependency:copy-dependencies"]);
    writeFileSync(built, "");
  }
}

function mvn(args: string[]): void {
  const p = Bun.spawnSync(["mvn", ...args], { cwd: JAVA_DIR, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) {
    throw new Error(`mvn ${args.join(" ")} in tests/java failed (${p.exitCode}):\n${p.stdout}${p.stderr}`);
  }
}

/** The names of the cases that chronik.Main knows, in its order. */
export function javaCases(): string[] {
  const p = Bun.spawnSync(["java", "-cp", JAVA_CLASSPATH, "chronik.Main", "--list"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) throw new Error(`chronik.Main --list failed: ${p.stderr.toString()}`);
  return p.stdout.toString().trim().split("\n");
}

/** Runs the named cases (all when none) in one JVM against a broker; one result per case. */
export function runJava(
  bootstrap: string,
  cases: string[],
  runId: string,
  jvmArgs: string[] = [],
): Promise<{ results: Map<string, CaseResult>; stderr: string; code: number }> {
  return runCases(
    [
      "java",
      ...jvmArgs,
      "-Xmx768m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      "-cp",
      JAVA_CLASSPATH,
      "chronik.Main",
      bootstrap,
      ...cases,
    ],
    JAVA_DIR,
    { CHRONIK_RUN: runId },
  );
}
