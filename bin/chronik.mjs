#!/usr/bin/env node
// npm `bin`: `bunx chronik` runs the Bun adapter from source, `deno run -A npm:chronik` the Deno one,
// and `npx chronik` the prebuilt Node bundle (dist/chronik.mjs, made by `npm run build` / prepack).
/* global Bun, Deno */
if (typeof Bun !== "undefined") {
  const { main } = await import("../adapters/bun.ts");
  await main(process.argv.slice(2));
} else if (typeof Deno !== "undefined") {
  const { main } = await import("../adapters/deno.ts");
  await main(Deno.args);
} else {
  const bundle = new URL("../dist/chronik.mjs", import.meta.url);
  const { existsSync } = await import("node:fs");
  if (!existsSync(bundle)) {
    process.stderr.write("chronik: dist/chronik.mjs is missing; run `npm run build` (needs Bun) first\n");
    process.exit(1);
  }
  await import(bundle.href);
}
