// SaslHandshake (key 17), v0-1. Starts a SASL exchange on a SASL_PLAINTEXT listener.
// Behaviour: as Kafka's SaslServerAuthenticator: an enabled mechanism (sasl.enabled.mechanisms:
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) is accepted with the list of enabled ones; any other gets
// UNSUPPORTED_SASL_MECHANISM with that list and the connection is closed. v1 continues with
// SaslAuthenticate; v0 (kafka-python, old sarama) continues with bare length-prefixed SASL tokens,
// which the server reads and answers outside the request framing until the exchange ends.
// On a PLAINTEXT listener, after authentication or during an exchange, the answer is
// ILLEGAL_SASL_STATE (with no mechanisms, as Kafka's request handler answers).
import { escapeForLog } from "../log_limit.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { SaslHandshake } from "../../protocol/messages/17_sasl_handshake.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler(SaslHandshake, [0, 1], (req, ctx) => {
  const auth = ctx.session.listener.auth;
  const s = ctx.session;
  if (!auth.required || s.authenticated) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
  if (s.sasl) {
    ctx.closeAfterResponse(`a second SaslHandshake (${escapeForLog(req.mechanism, 100)}) during a SASL exchange`);
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
  }
  const mechanisms = auth.mechanisms;
  const exchange = auth.exchange(req.mechanism, ctx.apiVersion === 0);
  if (!exchange) {
    ctx.closeAfterResponse(
      `unsupported SASL mechanism ${escapeForLog(req.mechanism, 100)} (enabled: ${mechanisms.join(", ")})`,
    );
    return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
  }
  s.sasl = exchange;
  return { errorCode: ErrorCode.NONE, mechanisms };
});
