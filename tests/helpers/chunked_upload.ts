// An HTTP/1.1 client that uploads a body in chunks over its own socket and reads the answer as it
// arrives, so a test can send part of a body, wait for what the server answers to it, then send more
// (fetch and curl cannot read the answer while their upload is still open).
import { connect } from "node:net";

export type ChunkedUpload = {
  /** Sends one chunk of the body. */
  send(text: string): void;
  /** Resolves once the answer holds `n` lines that start with "{" (JSON results), or rejects after `timeoutMs`. */
  until(n: number, timeoutMs?: number): Promise<void>;
  /** The JSON lines of the answer so far. */
  results(): string[];
  /** Everything received so far (status line, headers, chunk framing included). */
  raw(): string;
  /** Ends the body and waits for the server to close the connection. */
  end(): Promise<void>;
};

/** Starts `POST url` with a chunked JSON body and `Connection: close`. */
export function chunkedUpload(url: string): ChunkedUpload {
  const u = new URL(url);
  const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  const sock = connect(Number(u.port), u.hostname);
  let got = "";
  let wake = () => {};
  sock.on("data", (d: Buffer) => {
    got += d.toString();
    wake();
  });
  const closed = new Promise((r) => sock.on("close", r));
  const results = () => got.split("\r\n").flatMap((l) => l.split("\n")).filter((l) => l.startsWith("{"));
  sock.write(
    `POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
      `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
  );
  return {
    send: (text) => void sock.write(chunk(text)),
    until: (n, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${results().length} of ${n} results within ${timeoutMs} ms:\n${got}`)),
          timeoutMs,
        );
        wake = () => {
          if (results().length < n) return;
          clearTimeout(timer);
          resolve();
        };
        wake();
      }),
    results,
    raw: () => got,
    async end() {
      sock.end("0\r\n\r\n");
      await closed;
    },
  };
}
