// Builds the distributables (npm run build = bun scripts/build.ts):
//   dist/chronik.mjs  the Node bundle (node dist/chronik.mjs --port 9092), entry adapters/node_main.ts
//   dist/chronik      a single executable with Bun inside, entry adapters/bun.ts
// `--node-only` skips the binary (what `npm pack` needs: the package ships only the bundle).
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url).href);
const bun = process.execPath;
const nodeOnly = process.argv.includes("--node-only");

function run(args: string[]): void {
  const t = performance.now();
  const p = Bun.spawnSync([bun, ...args], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) {
    console.error(`build failed: bun ${args.join(" ")}`);
    process.exit(p.exitCode ?? 1);
  }
  console.log(`  bun ${args.join(" ")}  (${((performance.now() - t) / 1000).toFixed(1)}s)`);
}

function size(path: string): string {
  const n = statSync(`${root}/${path}`).size;
  return n > 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

run(["build", "adapters/node_main.ts", "--target=node", "--outfile", "dist/chronik.mjs"]);
// --bytecode: JavaScriptCore bytecode compiled at build time, so start-up skips parsing the bundle
// (spawn to "listening on" with an empty data dir: ~115 ms -> ~78 ms, scripts/bench --mode startup).
if (!nodeOnly) {
  run(["build", "--compile", "--bytecode", "--format=esm", "adapters/bun.ts", "--outfile", "dist/chronik"]);
}

console.log(`dist/chronik.mjs  ${size("dist/chronik.mjs")}`);
if (!nodeOnly) console.log(`dist/chronik      ${size("dist/chronik")}`);
