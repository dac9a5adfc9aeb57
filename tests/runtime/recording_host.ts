// A MainHost for runMain in tests: records exit codes, stdout and stderr text; `env` as given.

export function recordingHost(env: Record<string, string> = {}) {
  const h = {
    exits: [] as number[],
    printed: "",
    errors: "",
    env,
    onSignal(_fn: (s: string) => void) {},
    exit(code: number) {
      h.exits.push(code);
    },
    print(text: string) {
      h.printed += text;
    },
    printError(text: string) {
      h.errors += text;
    },
  };
  return h;
}
