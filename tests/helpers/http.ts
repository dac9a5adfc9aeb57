// The HTTP side of a broker in tests: where it listens (from the line it logs on start), an in-process broker with
// it on a free port, HTTP Basic credentials, and JSON requests.
import type { Broker, StartOptions } from "../../src/broker/broker.ts";
import type { BrokerConfig } from "../../src/config.ts";
import { testBroker } from "./broker.ts";

/** `http://127.0.0.1:<port>` of the HTTP side, from the "http listening on" log line (waited up to 5 s). */
export async function httpBase(logs: () => string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const m = /http listening on (\S+):(\d+)/.exec(logs());
    if (m) return `http://127.0.0.1:${m[2]}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the HTTP side never logged where it listens");
}

/** An in-process broker (testBroker) with its HTTP side on a free port (`chronik.http.port=0`), and its base URL. */
export async function startHttpBroker(
  config: Partial<BrokerConfig> = {},
  options: StartOptions = {},
): Promise<{ broker: Broker & { lines: string[] }; base: string }> {
  const broker = await testBroker({ "chronik.http.port": 0, ...config }, options);
  return { broker, base: await httpBase(() => broker.lines.join("\n")) };
}

/**
 * Configs of a broker whose listener is SASL_PLAINTEXT and whose HTTP side asks for HTTP Basic: the PLAIN users
 * `plain` (name → password), the SCRAM-SHA-256 user carol (password carol-pw), the StandardAuthorizer with User:admin
 * as its super user.
 */
export function saslHttpConfig(plain: Record<string, string>): Partial<BrokerConfig> {
  const users = Object.entries(plain).map(([name, password]) => `user_${name}="${password}"`).join(" ");
  return {
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ${users};`,
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
    "chronik.add.scram": "SCRAM-SHA-256=[name=carol,password=carol-pw]",
  };
}

/** The Authorization header of HTTP Basic for `user`:`password`. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${btoa(`${user}:${password}`)}`;
}

export type HttpAnswer = {
  status: number;
  /** The body parsed as JSON; null when it is not JSON (streaming or empty). */
  json: Record<string, unknown> & { data?: Record<string, unknown>[] };
  text: string;
};

/**
 * `method url` with `body` (a string sent as is, anything else as JSON) of content type `type` (default
 * application/json) and extra `headers`; the answer's status, JSON and text.
 */
export async function httpJson(
  method: string,
  url: string,
  body?: unknown,
  opts: { type?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const r = await fetch(url, {
    method,
    headers: { ...opts.headers, ...(body === undefined ? {} : { "content-type": opts.type ?? "application/json" }) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch { /* streaming or empty */ }
  return { status: r.status, json: json as HttpAnswer["json"], text };
}
