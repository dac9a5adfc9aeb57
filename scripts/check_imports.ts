// Keeps the core runtime-free: no file under src/ (nor mod.ts) may name Deno, Bun, process or
// Buffer, or import a Node built-in. Comments are ignored; so is text inside string literals,
// except import specifiers, which are checked. Run: bun scripts/check_imports.ts (exit 1 on findings).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type Violation = { file: string; line: number; what: string };

const FORBIDDEN_NAMES = /(?<![\w$.])(Deno|Bun|process|Buffer)(?![\w$])/g;
const NODE_BUILTINS = new Set([
  "assert",
  "async_hooks",
  "buffer",
  "child_process",
  "cluster",
  "console",
  "constants",
  "crypto",
  "dgram",
  "diagnostics_channel",
  "dns",
  "domain",
  "events",
  "fs",
  "fs/promises",
  "http",
  "http2",
  "https",
  "inspector",
  "module",
  "net",
  "os",
  "path",
  "perf_hooks",
  "process",
  "punycode",
  "querystring",
  "readline",
  "repl",
  "stream",
  "stream/promises",
  "string_decoder",
  "timers",
  "tls",
  "trace_events",
  "tty",
  "url",
  "util",
  "v8",
  "vm",
  "wasi",
  "worker_threads",
  "zlib",
]);

function isForbiddenSpecifier(spec: string): boolean {
  return spec.startsWith("node:") || spec.startsWith("bun:") || spec === "bun" || NODE_BUILTINS.has(spec);
}

/**
 * Blanks comments and string/template contents (keeping newlines, so line numbers hold) and
 * returns the string literals that are module specifiers.
 */
function scan(src: string): { code: string; specifiers: { spec: string; index: number }[] } {
  let out = "";
  const specifiers: { spec: string; index: number }[] = [];
  let i = 0;
  const templateDepth: number[] = []; // brace depth at which each open template's ${ started
  let braces = 0;
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      out += blank(src.slice(i, stop));
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += blank(src.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      const body = src.slice(i + 1, j);
      const before = out.slice(-40);
      if (/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\bexport\s*\*\s*from\s*)$/.test(before)) {
        specifiers.push({ spec: body, index: i });
      }
      out += c + blank(body) + (src[j] ?? "");
      i = j + 1;
    } else if (
      c === "`" || (c === "}" && templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === braces)
    ) {
      // template text up to the closing backtick or the next ${
      if (c === "}") templateDepth.pop();
      let j = i + 1;
      while (j < src.length && src[j] !== "`" && !(src[j] === "$" && src[j + 1] === "{")) j += src[j] === "\\" ? 2 : 1;
      out += c + blank(src.slice(i + 1, j));
      if (src[j] === "$") {
        templateDepth.push(braces);
        out += "${";
        i = j + 2;
      } else {
        out += "`";
        i = j + 1;
      }
    } else {
      if (c === "{") braces++;
      else if (c === "}") braces--;
      out += c;
      i++;
    }
  }
  return { code: out, specifiers };
}

const lineOf = (src: string, index: number) => src.slice(0, index).split("\n").length;

/** Findings for one file's text. */
export function checkSource(file: string, src: string): Violation[] {
  const found: Violation[] = [];
  const { code, specifiers } = scan(src);
  for (const { spec, index } of specifiers) {
    if (isForbiddenSpecifier(spec)) found.push({ file, line: lineOf(src, index), what: `imports "${spec}"` });
  }
  for (const m of code.matchAll(FORBIDDEN_NAMES)) {
    found.push({ file, line: lineOf(code, m.index!), what: `names ${m[1]}` });
  }
  return found.sort((a, b) => a.line - b.line);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = `${dir}/${name}`;
    if (statSync(p).isDirectory()) return tsFiles(p);
    return /\.(ts|mts|js|mjs)$/.test(name) ? [p] : [];
  });
}

/** Checks src/ and mod.ts under `root`. */
export function checkImports(root: string = fileURLToPath(new URL("..", import.meta.url).href)): Violation[] {
  const base = root.replace(/\/$/, "");
  const files = [...tsFiles(`${base}/src`), `${base}/mod.ts`];
  return files.flatMap((f) => checkSource(f.slice(base.length + 1), readFileSync(f, "utf8")));
}

if (import.meta.main) {
  const v = checkImports();
  for (const x of v) console.error(`${x.file}:${x.line}: ${x.what}`);
  if (v.length > 0) {
    console.error(`check_imports: ${v.length} violation(s); the core must stay runtime-free (see STYLE.md)`);
    process.exit(1);
  }
  console.log("check_imports: src/ and mod.ts are runtime-free");
}
