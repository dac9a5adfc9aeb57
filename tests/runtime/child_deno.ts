// Child process entry for the Deno adapter: deno run -A tests/runtime/child_deno.ts <mode> …
import { denoRuntime } from "../../adapters/deno.ts";
import { childMain } from "./child_lib.ts";

await childMain(denoRuntime, Deno.args);
