// A lock between test processes for the build steps that write into the repository tree (dist/ by scripts/build.ts,
// tests/java/target by Maven, tests/python/.venv): `npm test` runs files in several workers (bun test --parallel), and
// two files that find the same output missing or stale must not build it at the same time. The lock is a directory
// in the temp dir named after the output (mkdir is atomic); it holds the owner's pid, so a lock left by a killed
// process is taken over. Callers check freshness again once they hold it: the other process may have built it.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

/** A lock older than this is stale whatever its pid says (a build takes a few minutes at most). */
const STALE_MS = 30 * 60_000;
const POLL_MS = 100;

function lockDir(output: string): string {
  return `${tmpdir()}/chronik-build-lock-${Bun.hash(output).toString(16)}`;
}

function tryTake(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as { code?: string }).code !== "EEXIST") throw e;
    if (!abandoned(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    return tryTake(dir);
  }
  writeFileSync(`${dir}/pid`, String(process.pid));
  return true;
}

/** The owner died (its pid is gone) or the lock is older than any build. */
function abandoned(dir: string): boolean {
  try {
    if (Date.now() - statSync(dir).mtimeMs > STALE_MS) return true;
    const pid = Number(readFileSync(`${dir}/pid`, "utf8"));
    if (!Number.isInteger(pid) || pid <= 0) return false; // being written
    process.kill(pid, 0);
    return false;
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === "ESRCH"; // ENOENT: pid not written yet (or the lock just went away); EPERM: alive
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Runs `build` while holding the lock for `output` (a path), blocking this thread while another process holds it. */
export function withBuildLockSync<T>(output: string, build: () => T): T {
  const dir = lockDir(output);
  while (!tryTake(dir)) Atomics.wait(sleeper, 0, 0, POLL_MS);
  try {
    return build();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `build` while holding the lock for `output` (a path), waiting (without blocking) while another process holds it. */
export async function withBuildLock<T>(output: string, build: () => Promise<T>): Promise<T> {
  const dir = lockDir(output);
  while (!tryTake(dir)) await Bun.sleep(POLL_MS);
  try {
    return await build();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
