// Child process entry for the Node adapter; bundled with `bun build --target=node` and run by node.
import { nodeRuntime } from "../../adapters/node.ts";
import { childMain } from "./child_lib.ts";

await childMain(nodeRuntime, process.argv.slice(2));
