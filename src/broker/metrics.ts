// Broker metrics for the HTTP side (/metrics): requests per API, bytes in and out, connections.
// The server counts into them where it already handles each request and chunk (one increment,
// no allocation); open connections are the server's own count, read when asked.
import type { Handler } from "./handler.ts";

export class Metrics {
  readonly startedAt: number;
  /** API names by key, for labels. */
  readonly apiNames: ReadonlyMap<number, string>;
  /** Requests dispatched to a handler, by API key. */
  readonly requests = new Float64Array(128);
  /** Requests whose handler failed (the connection was closed), by API key. */
  readonly failures = new Float64Array(128);
  bytesIn = 0;
  bytesOut = 0;
  connectionsTotal = 0;
  /** Open connections (the server sets it to read its own). */
  connectionsOpen: () => number = () => 0;

  constructor(now: number, handlers: Iterable<Handler>) {
    this.startedAt = now;
    this.apiNames = new Map([...handlers].map((h) => [h.api.key, h.api.name]));
  }
}
