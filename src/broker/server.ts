// The broker's listener side: admits connections (max.connections, max.connections.per.ip,
// connection creation rates), sweeps idle ones and closes them all on shutdown. What happens on one
// connection (framing, dispatch, responses in order, quotas' muting) is connection.ts.
import type { Conn, ConnHandler } from "../runtime.ts";
import { recordAndThrottle, SampledRate } from "./config/quota_rate.ts";
import { Connection } from "./connection.ts";
import { LogLimiter } from "./log_limit.ts";
import type { ConnListener, Handler } from "./handler.ts";
import type { Services } from "./services.ts";

/** How often idle connections are looked for; a connection's activity is stamped with the sweep count. */
const IDLE_SWEEP_MS = 1000;
/** A client address's warnings about closed or refused connections: at most WARN_BURST lines per interval. */
const WARN_INTERVAL_MS = 10_000;
const WARN_BURST = 10;

export class Server {
  private readonly services: Services;
  private readonly handlers: ReadonlyMap<number, Handler>;
  private readonly connections = new Set<Connection>();
  /** Open connections per client address (max.connections.per.ip). */
  private readonly perIp = new Map<string, number>();
  private nextSessionId = 1;
  /** Each connection's session id (RequestContext.session.id), for what ends with the connection. */
  private readonly sessionIds = new WeakMap<Connection, number>();
  private idleTimer: ReturnType<typeof setInterval> | null = null;
  /** max.connection.creation.rate, broker-wide and per listener (KIP-612). */
  private readonly creationRates = new Map<string, SampledRate>();
  /** Sweeps so far: connections stamp it on activity, so the hot path reads no clock. */
  tick = 0;
  closing = false;

  constructor(services: Services, handlers: ReadonlyMap<number, Handler>) {
    this.services = services;
    this.handlers = handlers;
    services.metrics.connectionsOpen = () => this.connections.size;
    this.idleTimer = setInterval(() => this.sweepIdle(), IDLE_SWEEP_MS);
    // Deno and Node keep a process alive for an interval; the broker's listeners do that already.
    (this.idleTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Kafka's max.connections and max.connections.per.ip (with max.connections.per.ip.overrides,
   * "host:count,..."), read as they are now: a connection over a limit is closed at once, with a
   * log line (Kafka's acceptor waits for room on max.connections instead; ours has accepted already).
   */
  private overLimit(ip: string): string | null {
    const cfg = this.services.config;
    const max = Number(cfg["max.connections"] ?? 2147483647);
    if (this.connections.size >= max) return `max.connections (${max}) reached`;
    let perIp = Number(cfg["max.connections.per.ip"] ?? 2147483647);
    const overrides = cfg["max.connections.per.ip.overrides"];
    if (typeof overrides === "string" && overrides !== "") {
      for (const o of overrides.split(",")) {
        const i = o.lastIndexOf(":");
        if (i > 0 && o.slice(0, i).trim() === ip) perIp = Number(o.slice(i + 1));
      }
    }
    if ((this.perIp.get(ip) ?? 0) >= perIp) return `max.connections.per.ip (${perIp}) reached for ${ip}`;
    return null;
  }

  accept(conn: Conn, listener: ConnListener): ConnHandler {
    const id = this.nextSessionId++;
    const c = new Connection(this, conn, id, listener);
    this.sessionIds.set(c, id);
    const ip = conn.remoteAddress;
    const refused = this.closing ? "shutting down" : this.overLimit(ip);
    // KIP-612: over its connection_creation_rate an address's new connection is closed after the
    // throttle time, unread (Kafka's ConnectionThrottledException).
    const throttleMs = refused === null ? this.services.quotas.connectionCreated(ip, this.services.now()) : 0;
    let creationDelay = 0;
    if (refused !== null) {
      if (!this.closing) this.warnConnection(ip, `refusing connection from ${ip}:${conn.remotePort}: ${refused}`);
      c.refuse();
      conn.close();
    } else if (throttleMs === 0 && (creationDelay = this.creationDelay(listener.name)) > 0) {
      // Over max.connection.creation.rate Kafka's acceptor waits before taking the connection; ours
      // has it already, so it waits before reading from it.
      this.services.log(
        "debug",
        `connection from ${ip}:${conn.remotePort} waits ${creationDelay} ms (max.connection.creation.rate)`,
      );
      this.admit(c, ip);
      conn.pause();
      setTimeout(() => {
        if (!this.closing) conn.resume();
      }, creationDelay);
    } else if (throttleMs > 0) {
      this.services.log(
        "info",
        `connection from ${ip}:${conn.remotePort} over its connection_creation_rate: closing it after ${throttleMs} ms`,
      );
      c.refuse();
      conn.pause();
      setTimeout(() => conn.close(), throttleMs);
    } else {
      this.admit(c, ip);
    }
    if (refused === null && this.services.config.logLevel === "debug") {
      this.services.log("debug", `connection from ${ip}:${conn.remotePort} on listener ${listener.name}`);
    }
    return c;
  }

  private admit(c: Connection, ip: string) {
    this.connections.add(c);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    this.services.metrics.connectionsTotal++;
  }

  /**
   * The wait max.connection.creation.rate (and listener.name.<name>.max.connection.creation.rate)
   * asks of a new connection: Kafka's throttle time over quota.window.num x quota.window.size.seconds.
   */
  private creationDelay(listener: string): number {
    const cfg = this.services.config;
    let delay = 0;
    for (
      const [key, name] of [["max.connection.creation.rate", ""], [
        `listener.name.${listener.toLowerCase()}.max.connection.creation.rate`,
        listener,
      ]]
    ) {
      const raw = cfg[key];
      if (raw === undefined || raw === null) continue;
      const bound = Number(raw);
      if (!(bound > 0) || bound >= 2147483647) continue;
      let rate = this.creationRates.get(name);
      if (!rate) {
        this.creationRates.set(
          name,
          rate = new SampledRate(
            Number(cfg["quota.window.num"] ?? 11),
            Number(cfg["quota.window.size.seconds"] ?? 1) * 1000,
          ),
        );
      }
      delay = Math.max(delay, recordAndThrottle(rate, 1, bound, this.services.now()));
    }
    return delay;
  }

  /** connections.max.idle.ms: closes connections with nothing read, written or pending for that long. */
  private sweepIdle() {
    this.tick++;
    const idleMs = Number(this.services.config["connections.max.idle.ms"] ?? 600000);
    if (!(idleMs >= 0)) return;
    const ticks = Math.max(1, Math.ceil(idleMs / IDLE_SWEEP_MS));
    for (const c of this.connections) {
      if (this.tick - c.lastActive > ticks && c.isIdle()) c.closeIdle(idleMs);
    }
  }

  /** Stops reading on every connection, lets in-flight requests answer, then closes them. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.idleTimer !== null) clearInterval(this.idleTimer);
    this.idleTimer = null;
    await Promise.all([...this.connections].map((c) => c.shutdown()));
  }

  private readonly warnings = new LogLimiter(WARN_INTERVAL_MS, WARN_BURST);

  /** A warning about one client's connection, at most WARN_BURST lines per address per WARN_INTERVAL_MS. */
  warnConnection(ip: string, line: string) {
    const out = this.warnings.admit(ip, performance.now(), line);
    if (out !== null) this.services.log("warn", out);
  }

  /** @internal */ handler(key: number): Handler | undefined {
    return this.handlers.get(key);
  }
  /** @internal */ get svc(): Services {
    return this.services;
  }
  /** @internal */ forget(c: Connection, ip: string) {
    if (!this.connections.delete(c)) return;
    // Share sessions end with the connection that carried them (share/coordinator.ts).
    this.services.share.connectionClosed(this.sessionIds.get(c) ?? -1);
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n > 0) this.perIp.set(ip, n);
    else this.perIp.delete(ip);
  }
}
