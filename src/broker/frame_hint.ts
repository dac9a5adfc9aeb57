// What a bad first frame on the Kafka port most likely is: an HTTP request (the length field reads
// "GET " = 1195725856) or a TLS handshake on a plaintext listener. Turns "frame size 1195725856"
// into a line an operator can act on.
import type { Session } from "./handler.ts";

const HTTP_METHODS = ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "PRI "];

/** A hint for a frame size that is out of range, from its four bytes; "" when nothing stands out. */
export function frameSizeHint(size: number): string {
  const bytes = [(size >>> 24) & 0xff, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff];
  const text = String.fromCharCode(...bytes);
  if (HTTP_METHODS.includes(text)) {
    return `: this looks like an HTTP request ("${text.trim()} ...") on the Kafka port; ` +
      "HTTP (health, metrics, REST) is served on --http-port, and Kafka clients need this port";
  }
  if (bytes[0] === 0x16 && bytes[1] === 0x03) {
    return ": this looks like a TLS handshake on a plaintext listener; use an SSL or SASL_SSL listener " +
      "(listeners=SSL://...) or connect without TLS";
  }
  return "";
}

/** One debug line describing a connection: client id, software, listener, principal. */
export function describeSession(s: Session): string {
  const software = s.clientSoftwareName ? ` ${s.clientSoftwareName}/${s.clientSoftwareVersion ?? "?"}` : "";
  return `${s.remote} client ${
    JSON.stringify(s.clientId ?? "")
  }${software} on listener ${s.listener.name} as ${s.principal}`;
}
