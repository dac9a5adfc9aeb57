// PushTelemetry (key 72), v0 (KIP-714). Takes a client's metrics (OTLP, compressed as offered)
// under its current subscription: UNKNOWN_SUBSCRIPTION_ID for an unknown instance or an outdated
// subscription id, THROTTLING_QUOTA_EXCEEDED before the push interval has passed (a terminating push
// is always taken), TELEMETRY_TOO_LARGE above telemetry.max.bytes, UNSUPPORTED_COMPRESSION_TYPE,
// INVALID_RECORD for a payload that does not decode. The latest values go to /metrics.
import { PushTelemetry } from "../../protocol/messages/72_push_telemetry.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(PushTelemetry, [0, 0], (req, ctx) => ({
  throttleTimeMs: 0,
  errorCode: ctx.services.clientMetrics.push(
    req.clientInstanceId,
    req.subscriptionId,
    req.terminating,
    req.compressionType,
    req.metrics,
  ),
}));
