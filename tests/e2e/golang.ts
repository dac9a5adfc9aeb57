// The Go module in tests/go (franz-go and IBM/sarama from the Go module proxy, versions locked by go.mod and
// go.sum): each program is built with `go build` into tests/go/bin (.ci/run builds them first; Go's build cache
// makes a rebuild cheap). Tests skip with a message only when there is no Go toolchain; a failed build fails them.
import { ROOT } from "./harness.ts";

export const GO_DIR = `${ROOT}/tests/go`;

export function goMissing(): string | null {
  return Bun.which("go") ? null : "no `go` on PATH";
}

const built = new Map<string, string>();

/** Builds ./<pkg> of tests/go once per test run (at a test file's load); returns the binary's path. */
export function buildGo(pkg: string): string {
  const done = built.get(pkg);
  if (done) return done;
  const bin = `${GO_DIR}/bin/${pkg}`;
  const p = Bun.spawnSync(["go", "build", "-o", bin, `./${pkg}`], { cwd: GO_DIR, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) {
    throw new Error(
      `go build ./${pkg} in tests/go failed (${p.exitCode}):\n${p.stdout.toString()}${p.stderr.toString()}`,
    );
  }
  built.set(pkg, bin);
  return bin;
}

/** The case names a test program lists with `--list`. */
export function listCases(bin: string): string[] {
  const p = Bun.spawnSync([bin, "-", "-", "--list"], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${bin} --list failed: ${p.stderr.toString()}`);
  return p.stdout.toString().trim().split("\n");
}
