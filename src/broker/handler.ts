// The handler contract: one file per API key under handlers/, each `defineHandler(...)`.
import type { Api } from "../protocol/schema.ts";
import type { ListenerAuth, SaslExchange } from "./auth/auth.ts";
import type { QuotaBinding } from "./config/quotas.ts";
import type { Services } from "./services.ts";

/** Per-connection state that handlers may read and change (SASL stage, principal, client software). */
export type Session = {
  readonly id: number;
  readonly remote: string;
  clientId: string | null;
  clientSoftwareName: string | null;
  clientSoftwareVersion: string | null;
  principal: string;
  /** False on a SASL listener until SaslAuthenticate (or the v0 token exchange) succeeds. */
  authenticated: boolean;
  /** The SASL exchange between SaslHandshake and its end. */
  sasl: SaslExchange | null;
  /** The listener the connection came in on: its security and the address it advertises. */
  readonly listener: ConnListener;
  /** The client quotas this connection's requests are measured against (set when quotas exist). */
  quota?: QuotaBinding;
};

/** A listener as connections see it. */
export type ConnListener = {
  readonly name: string;
  readonly auth: ListenerAuth;
  /** Host and port clients of this listener are told (Metadata, FindCoordinator, DescribeCluster). */
  readonly advertised: { host: string; port: number };
};

export type RequestContext = {
  readonly services: Services;
  readonly session: Session;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /**
   * Produce with acks=0 sets this: no response is sent (the slot in the connection's
   * response order is released instead).
   */
  noResponse: boolean;
  /**
   * A throttle time the handler computed (Fetch's consumer_byte_rate; CreateTopics, CreatePartitions
   * and DeleteTopics' controller_mutation_rate); the server takes the larger
   * of it and its own (producer_byte_rate, request_percentage), writes it into the response's
   * throttleTimeMs and mutes the connection that long (KIP-219).
   */
  throttleTimeMs: number;
  /**
   * Set by a handler that keeps no view of its request once it has answered (Produce into an engine
   * that does not keep appended buffers): the server may then reuse the frame's buffer.
   */
  frameReusable: boolean;
  /**
   * Called by a handler about to give the event loop a turn halfway through its work (yield.ts):
   * no later request of this connection starts until this one is answered, so requests take effect
   * in arrival order, as in Kafka.
   */
  keepOrder(): void;
  /** Closes this connection (with a log line); the response, if any, is dropped. */
  closeConnection(reason: string): void;
  /** Sends this request's response, then closes the connection (with a log line), as after a failed SASL exchange. */
  closeAfterResponse(reason: string): void;
};

export type Handler<Req = any, Res = any> = {
  readonly api: Api<Req, Res>;
  /** The versions ApiVersions advertises; must lie within the schema's. */
  readonly versions: readonly [number, number];
  /**
   * The response can be much larger than the request (records, or entries the request does not
   * name: "all topics", "every group", a whole ACL list). A connection has at most one such request
   * unanswered (connection.ts), as Kafka, which handles one request per connection at a time, holds
   * at most one response (issue #14.2). tests/handlers/large_response_test.ts derives which
   * handlers must say so from their schemas.
   */
  readonly largeResponse: boolean;
  handle(req: Req, ctx: RequestContext): Res | Promise<Res>;
};

export type HandlerOptions = { readonly largeResponse?: boolean };

/** The options of a handler whose response can be much larger than its request (see Handler.largeResponse). */
export const LARGE_RESPONSE: HandlerOptions = { largeResponse: true };

type HandleFn<Req, Res> = (req: Req, ctx: RequestContext) => Res | Promise<Res>;

export function defineHandler<Req, Res>(
  api: Api<Req, Res>,
  versions: readonly [number, number],
  handle: HandleFn<Req, Res>,
): Handler<Req, Res>;
export function defineHandler<Req, Res>(
  api: Api<Req, Res>,
  versions: readonly [number, number],
  options: HandlerOptions,
  handle: HandleFn<Req, Res>,
): Handler<Req, Res>;
export function defineHandler<Req, Res>(
  api: Api<Req, Res>,
  versions: readonly [number, number],
  a: HandlerOptions | HandleFn<Req, Res>,
  b?: HandleFn<Req, Res>,
): Handler<Req, Res> {
  if (versions[0] < api.versions[0] || versions[1] > api.versions[1] || versions[0] > versions[1]) {
    throw new Error(`${api.name}: advertised versions ${versions} outside the schema's ${api.versions}`);
  }
  const options = typeof a === "function" ? {} : a;
  const handle = typeof a === "function" ? a : b!;
  return { api, versions, largeResponse: options.largeResponse === true, handle };
}
