// Entry of the Node bundle (dist/chronik.mjs): runs the CLI unconditionally,
// since Node 20 has no import.meta.main. scripts/build.ts bundles this file.
import { main } from "./node.ts";

await main();
