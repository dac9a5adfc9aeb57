// src/ and mod.ts stay runtime-free (scripts/check_imports.ts); the checker itself is tested on snippets.
import { describe, expect, test } from "bun:test";
import { checkImports, checkSource } from "../scripts/check_imports.ts";

test("src/ and mod.ts name no runtime and import no node:*", () => {
  expect(checkImports().map((v) => `${v.file}:${v.line}: ${v.what}`)).toEqual([]);
});

describe("checkSource", () => {
  const what = (src: string) => checkSource("x.ts", src).map((v) => `${v.line}: ${v.what}`);

  test("flags runtime globals and Node built-in imports, with line numbers", () => {
    expect(
      what(
        `import * as fs from "node:fs";\nimport { join } from 'path';\nconst b = Buffer.from("x");\nif (Deno) {}\nprocess.exit(1);\nBun.serve({});\nconst m = await import("node:net");\nexport * from "bun";`,
      ),
    ).toEqual([
      `1: imports "node:fs"`,
      `2: imports "path"`,
      `3: names Buffer`,
      `4: names Deno`,
      `5: names process`,
      `6: names Bun`,
      `7: imports "node:net"`,
      `8: imports "bun"`,
    ]);
  });

  test("ignores comments, string and template text, and look-alike identifiers", () => {
    expect(
      what(
        `// process Buffer Deno import "node:fs"\n/* Bun\n process */\nconst s = "the process died"; const t = 'Buffer';\nconst u = \`Deno \${1 + 2} Bun\`;\nconst processing = 1; const BufferPool = 2; ctx.process(); x.Deno;\nimport { a } from "./node_helpers.ts";`,
      ),
    ).toEqual([]);
  });

  test("code inside template substitutions is still checked", () => {
    expect(what("const s = `pid ${process.pid} and ${`nested ${Buffer.alloc(1)}`}`;")).toEqual([
      "1: names process",
      "1: names Buffer",
    ]);
  });
});
