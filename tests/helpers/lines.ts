// Child processes of the end-to-end tests report what they see as JSON lines on stdout.

/** Calls `onLine` with each JSON line of `stream` as it arrives (in the background). */
export function onJsonLines(stream: ReadableStream<Uint8Array>, onLine: (line: Record<string, unknown>) => void): void {
  (async () => {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) onLine(JSON.parse(line));
      }
    }
  })();
}
