// The protocol of the client-ecosystem test programs (tests/java, tests/go): one line per case on stdout,
// `CASE ok <name> <ms>` or `CASE fail <name> <message>`, with details on stderr after `case <name> failed:`
// up to a blank line. Each case becomes one bun test.
export type CaseResult = { ok: boolean; line: string; detail: string };

export async function runCases(
  cmd: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ results: Map<string, CaseResult>; stderr: string; code: number }> {
  const p = Bun.spawn(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const results = new Map<string, CaseResult>();
  for (const line of out.split("\n")) {
    const m = /^CASE (ok|fail) (\S+)/.exec(line);
    if (!m) continue;
    const start = err.indexOf(`case ${m[2]} failed:`);
    const end = start < 0 ? -1 : err.indexOf("\n\n", start);
    results.set(m[2], {
      ok: m[1] === "ok",
      line,
      detail: start < 0 ? "" : err.slice(start, end < 0 ? start + 4000 : end),
    });
  }
  return { results, stderr: err, code };
}

/** Throws with the case's line and details unless it passed. */
export function expectCase(results: Map<string, CaseResult>, name: string): void {
  const r = results.get(name);
  if (!r?.ok) throw new Error(`${r?.line ?? `case ${name} did not run`}\n${r?.detail ?? ""}`);
}
