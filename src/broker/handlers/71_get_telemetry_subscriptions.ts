// GetTelemetrySubscriptions (key 71), v0 (KIP-714). Gives the client its instance id (a new one
// when it sends the zero id), the metrics its matching client-metrics subscriptions ask for, the
// push interval, the compression types accepted and telemetry.max.bytes. No subscription matching
// means no requested metrics, and the client pushes nothing. See telemetry/client_metrics.ts.
import { GetTelemetrySubscriptions } from "../../protocol/messages/71_get_telemetry_subscriptions.ts";
import { defineHandler } from "../handler.ts";
import { clientInfo } from "../telemetry/client_info.ts";

export default defineHandler(GetTelemetrySubscriptions, [0, 0], (req, ctx) => ({
  throttleTimeMs: 0,
  ...ctx.services.clientMetrics.getSubscriptions(req.clientInstanceId, clientInfo(ctx)),
}));
