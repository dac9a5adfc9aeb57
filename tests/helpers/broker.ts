// Starts a broker in this process on a free loopback port (Bun adapter), for handler tests.
import { bunRuntime } from "../../adapters/bun.ts";
import type { Broker, StartOptions } from "../../src/broker/broker.ts";
import { startBroker } from "../../src/broker/broker.ts";
import type { BrokerConfig } from "../../src/config.ts";
import type { Runtime } from "../../src/runtime.ts";

/** A runtime whose log lines are kept in memory (and shown with CHRONIK_TEST_LOG=1). */
export function quietRuntime(): Runtime & { lines: string[] } {
  const lines: string[] = [];
  return {
    ...bunRuntime,
    lines,
    log(level, message) {
      lines.push(`${level} ${message}`);
      if (process.env.CHRONIK_TEST_LOG) bunRuntime.log(level, message);
    },
  };
}

/** `options.store` lets a test restart a broker on the same storage (the test then owns the store). */
export async function testBroker(
  config: Partial<BrokerConfig> = {},
  options: StartOptions = {},
): Promise<Broker & { lines: string[] }> {
  const runtime = quietRuntime();
  const broker = await startBroker(runtime, { host: "127.0.0.1", port: 0, logLevel: "debug", ...config }, options);
  return Object.assign(broker, { lines: runtime.lines });
}
