// A listener that cannot bind says which address and why, the same on every runtime: Bun and the
// compiled binary report only "Failed to listen at <host>" (with code EADDRINUSE), Deno
// "Address already in use (os error 98)", Node "listen EADDRINUSE: address already in use <addr>".
const REASONS: Record<string, string> = {
  EADDRINUSE: "the address is already in use (another broker or program listens there)",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "no interface of this machine has that address",
  ENOTFOUND: "the host name does not resolve",
  EAI_NONAME: "the host name does not resolve",
};

function codeOf(e: unknown): string {
  const err = e as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof err?.code === "string" && err.code !== "") return err.code;
  const text = `${String(err?.name ?? "")} ${String(err?.message ?? "")}`;
  if (/AddrInUse|already in use|os error 98\b/i.test(text)) return "EADDRINUSE";
  if (/PermissionDenied|permission denied|os error 13\b/i.test(text)) return "EACCES";
  if (/AddrNotAvailable|cannot assign requested address|os error 99\b/i.test(text)) return "EADDRNOTAVAIL";
  return "";
}

/** `cannot listen on host:port (listener NAME): reason (CODE)`; the original error is its cause. */
export function listenFailure(e: unknown, name: string, host: string, port: number): Error {
  const code = codeOf(e);
  const reason = REASONS[code] ?? (e instanceof Error ? e.message : String(e));
  const addr = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const hint = code === "EADDRINUSE" ? "; choose another port (--port, listeners) or stop what listens there" : "";
  return Object.assign(
    new Error(`cannot listen on ${addr} (listener ${name}): ${reason}${code ? ` (${code})` : ""}${hint}`, { cause: e }),
    { code },
  );
}
