// Child process entry for the Bun adapter: bun tests/runtime/child_bun.ts <mode> …
import { bunRuntime } from "../../adapters/bun.ts";
import { childMain } from "./child_lib.ts";

await childMain(bunRuntime, process.argv.slice(2));
