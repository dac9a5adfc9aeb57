// The broker: wires config, services and the server onto a Runtime.
import type { BrokerConfig } from "../config.ts";
import { resolveConfig } from "../config.ts";
import type { Runtime } from "../runtime.ts";

export interface Broker {
  readonly host: string;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting, finishes in-flight requests, closes connections and storage. */
  close(): Promise<void>;
}

export async function startBroker(runtime: Runtime, partial: Partial<BrokerConfig> = {}): Promise<Broker> {
  const config = resolveConfig(partial);
  // Placeholder until the server lands: accept and close.
  const listener = await runtime.listen({ host: config.host, port: config.port }, (conn) => {
    conn.close();
    return { data() {}, end() {} };
  });
  runtime.log("info", `chronik listening on ${listener.host}:${listener.port} (${runtime.name})`);
  return { host: listener.host, port: listener.port, close: () => listener.close() };
}
