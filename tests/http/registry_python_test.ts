// The schema registry with confluent-kafka-python's SchemaRegistryClient and its Avro serializer and deserializer
// (PyPI, in the venv pinned by tests/python/requirements.txt; ensureVenv makes it when missing): register through the
// serializer, produce, consume and decode, evolve compatibly, be refused incompatibly (tests/python/registry.py).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ensureVenv, PY, PY_DIR, pythonMissing } from "../e2e/python.ts";
import { startHttpBroker } from "../helpers/http.ts";

const SCRIPT = `${PY_DIR}/registry.py`;
const missing = pythonMissing();
const have = !missing;
if (missing) console.warn(`registry_python_test: SKIPPED, ${missing}`);
if (have) ensureVenv();

let broker: Broker & { lines: string[] };
let base: string;
beforeAll(async () => {
  if (!have) return;
  ({ broker, base } = await startHttpBroker());
});
afterAll(async () => {
  if (have) await broker.close();
});

test.skipIf(!have)("confluent-kafka's SchemaRegistryClient and Avro serializer end to end", async () => {
  const p = Bun.spawn([PY, SCRIPT, `127.0.0.1:${broker.port}`, base, "payments"], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(code === 0 ? out.trim() : `${out}\n${err}`).toBe("ok 3");
}, 60_000);
