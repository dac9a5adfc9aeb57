// Path pieces the file-system adapters (deno.ts, node_fs.ts) share: POSIX paths, as the core gives them.

/** The last path segment (trailing slashes ignored). */
export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) || trimmed;
}

/** The directory holding `path`: "." for a bare name, "/" for a top-level entry. */
export function parentDir(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}
