// What client-metrics subscriptions match on, from the connection (KIP-714's client selectors).
import type { RequestContext } from "../handler.ts";
import type { ClientInfo } from "./client_metrics.ts";

export function clientInfo(ctx: RequestContext): ClientInfo {
  const remote = ctx.session.remote;
  const colon = remote.lastIndexOf(":");
  return {
    clientId: ctx.clientId ?? "",
    softwareName: ctx.session.clientSoftwareName ?? "",
    softwareVersion: ctx.session.clientSoftwareVersion ?? "",
    sourceAddress: colon > 0 ? remote.slice(0, colon).replace(/^\[|\]$/g, "") : remote,
    sourcePort: colon > 0 ? remote.slice(colon + 1) : "",
  };
}
