// Where a broker's HTTP side listens, read from the line it logs on start.

/** `http://127.0.0.1:<port>` of the HTTP side, from the "http listening on" log line (waited up to 5 s). */
export async function httpBase(logs: () => string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const m = /http listening on (\S+):(\d+)/.exec(logs());
    if (m) return `http://127.0.0.1:${m[2]}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the HTTP side never logged where it listens");
}
