// What client-metrics subscriptions match on, from the connection (KIP-714's client selectors).
import { hostOf } from "../auth/authorize.ts";
import type { RequestContext } from "../handler.ts";
import type { ClientInfo } from "./client_metrics.ts";

export function clientInfo(ctx: RequestContext): ClientInfo {
  const remote = ctx.session.remote;
  const colon = remote.lastIndexOf(":");
  return {
    clientId: ctx.clientId ?? "",
    softwareName: ctx.session.clientSoftwareName ?? "",
    softwareVersion: ctx.session.clientSoftwareVersion ?? "",
    sourceAddress: hostOf(remote),
    sourcePort: colon > 0 ? remote.slice(colon + 1) : "",
  };
}
