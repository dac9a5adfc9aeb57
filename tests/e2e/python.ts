// The Python test programs (tests/python): confluent-kafka and aiokafka from PyPI in a venv pinned by
// tests/python/requirements.txt (.ci/run makes it; made here when missing or different).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ROOT } from "./harness.ts";
import { withBuildLockSync } from "../helpers/build_lock.ts";

export const PY_DIR = `${ROOT}/tests/python`;
export const PY = `${PY_DIR}/.venv/bin/python`;

/** Why the Python tests cannot run here (no python3 on PATH), or null. */
export function pythonMissing(): string | null {
  return Bun.which("python3") ? null : "no `python3` on PATH";
}

/** Makes tests/python/.venv with the pinned packages unless it already holds exactly them. */
export function ensureVenv(): void {
  // Two test files (in parallel workers) may make it: one at a time, the second finds it made.
  withBuildLockSync(`${PY_DIR}/.venv`, ensureVenvLocked);
}

function ensureVenvLocked(): void {
  const stamp = `${PY_DIR}/.venv/installed.txt`;
  const wanted = readFileSync(`${PY_DIR}/requirements.txt`, "utf8");
  if (existsSync(PY) && existsSync(stamp) && readFileSync(stamp, "utf8") === wanted) return;
  for (
    const cmd of [
      ["python3", "-m", "venv", `${PY_DIR}/.venv`],
      [PY, "-m", "pip", "install", "-q", "-r", `${PY_DIR}/requirements.txt`],
    ]
  ) {
    const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed:\n${p.stdout.toString()}${p.stderr.toString()}`);
  }
  writeFileSync(stamp, wanted);
}
