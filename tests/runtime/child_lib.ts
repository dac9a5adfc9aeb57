// What tests/runtime/child_{node,deno}.ts run in a child process with the adapter's Runtime:
//   echo     listen with the echo handler, print "PORT <n>", and "END <json stats>" per connection
//   close    listen; per connection write 8 MiB (pattern()) then close() at once: close must flush first
//   reuse    listen; per connection send REUSE_BYTES from three buffers reused on write()'s `sent` callback
//   fs <dir> run the FileSystem contract under <dir>, print "RESULT <json>"
//   tls <port> <json ClientTlsOptions>  connect with TLS, print "REFUSED <message>" when connect rejects (or
//            "CONNECTED"), then stay up with what it left open (the test kills it)
import type { ClientTlsOptions, Runtime } from "../../src/runtime.ts";
import { listenEcho, listenReuse, listenWriteThenClose } from "./echo.ts";
import { FS_CONTRACT } from "./fs_contract.ts";

export async function childMain(runtime: Runtime, argv: string[]): Promise<void> {
  const [mode, dir, extra] = argv;
  if (mode === "echo") {
    const { listener } = await listenEcho(runtime, (s) => console.log(`END ${JSON.stringify(s)}`));
    console.log(`PORT ${listener.port}`);
    return; // the listener keeps the process alive; the test kills it
  }
  if (mode === "close") {
    const listener = await listenWriteThenClose(runtime);
    console.log(`PORT ${listener.port}`);
    return;
  }
  if (mode === "reuse") {
    const listener = await listenReuse(runtime);
    console.log(`PORT ${listener.port}`);
    return;
  }
  if (mode === "fs") {
    const results: { name: string; error: string | null }[] = [];
    let i = 0;
    for (const c of FS_CONTRACT) {
      const d = `${dir}/${i++}`;
      await runtime.fs.mkdir(d);
      try {
        await c.run(runtime.fs, d);
        results.push({ name: c.name, error: null });
      } catch (e) {
        results.push({ name: c.name, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
    }
    console.log(`RESULT ${JSON.stringify(results)}`);
    return;
  }
  if (mode === "tls") {
    try {
      const conn = await runtime.connect!(
        { host: "127.0.0.1", port: Number(dir), tls: JSON.parse(extra) as ClientTlsOptions },
        () => ({ data() {}, end() {} }),
      );
      conn.close();
      console.log("CONNECTED");
    } catch (e) {
      console.log(`REFUSED ${e instanceof Error ? e.message : String(e)}`.split("\n")[0]);
    }
    setInterval(() => {}, 60_000);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}
