// Broker metrics for the HTTP side (/metrics): requests per API, bytes in and out, connections.
// Counted around the server, not inside it: each handler is wrapped once at start-up and each
// connection's write/data once at accept, so the request path pays one increment, no allocation.
import type { Conn, ConnHandler } from "../runtime.ts";
import type { Handler } from "./handler.ts";

export class Metrics {
  readonly startedAt: number;
  /** API names by key, for labels. */
  readonly apiNames = new Map<number, string>();
  /** Requests handled, by API key. */
  readonly requests = new Float64Array(128);
  /** Requests whose handler failed (the connection was closed), by API key. */
  readonly failures = new Float64Array(128);
  bytesIn = 0;
  bytesOut = 0;
  connectionsOpen = 0;
  connectionsTotal = 0;

  constructor(now: number) {
    this.startedAt = now;
  }

  /** The same handler, counting its requests. */
  count(h: Handler): Handler {
    const requests = this.requests;
    const failures = this.failures;
    const key = h.api.key;
    this.apiNames.set(key, h.api.name);
    return {
      api: h.api,
      versions: h.versions,
      handle(req, ctx) {
        requests[key]++;
        try {
          const r = h.handle(req, ctx);
          if (r instanceof Promise) {
            return r.catch((e) => {
              failures[key]++;
              throw e;
            });
          }
          return r;
        } catch (e) {
          failures[key]++;
          throw e;
        }
      },
    };
  }

  /** Wraps an accepted connection so its bytes and its life are counted. */
  accept(conn: Conn, accept: (conn: Conn) => ConnHandler): ConnHandler {
    const m = this;
    m.connectionsOpen++;
    m.connectionsTotal++;
    const counted: Conn = {
      remoteAddress: conn.remoteAddress,
      remotePort: conn.remotePort,
      write(chunk, sent) {
        m.bytesOut += chunk.length;
        return conn.write(chunk, sent);
      },
      drained: () => conn.drained(),
      pause: () => conn.pause(),
      resume: () => conn.resume(),
      close: () => conn.close(),
    };
    const inner = accept(counted);
    let ended = false;
    return {
      data(chunk) {
        m.bytesIn += chunk.length;
        inner.data(chunk);
      },
      end(error) {
        if (!ended) {
          ended = true;
          m.connectionsOpen--;
        }
        inner.end(error);
      },
    };
  }
}
