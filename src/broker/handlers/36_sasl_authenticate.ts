// SaslAuthenticate (key 36), v0-2. Carries the SASL tokens of an exchange begun by SaslHandshake v1.
// Behaviour: PLAIN takes one token; SCRAM two (server-first, then server-final). On success the
// connection's principal is User:<name> and every API is open to it. A failed exchange answers
// SASL_AUTHENTICATION_FAILED with Kafka's message and closes the connection after the answer.
// sessionLifetimeMs (v1+) is 0: connections.max.reauth.ms is 0, no re-authentication (KIP-368).
// Without a SaslHandshake v1 first: ILLEGAL_SASL_STATE and the connection closes; on a PLAINTEXT
// listener or after authentication: ILLEGAL_SASL_STATE, as Kafka's request handler answers.
import { escapeForLog } from "../log_limit.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { SaslAuthenticate } from "../../protocol/messages/36_sasl_authenticate.ts";
import { SaslError } from "../auth/sasl.ts";
import { defineHandler } from "../handler.ts";

const EMPTY = new Uint8Array(0);

export default defineHandler(SaslAuthenticate, [0, 2], async (req, ctx) => {
  const s = ctx.session;
  const answer = (errorCode: number, errorMessage: string | null, authBytes: Uint8Array = EMPTY) => ({
    errorCode,
    errorMessage,
    authBytes,
    sessionLifetimeMs: 0n,
  });
  if (!s.listener.auth.required || s.authenticated) {
    return answer(ErrorCode.ILLEGAL_SASL_STATE, "SaslAuthenticate request received after successful authentication");
  }
  const exchange = s.sasl;
  if (!exchange || exchange.legacy) {
    ctx.closeAfterResponse("SaslAuthenticate without a SaslHandshake v1 first");
    return answer(ErrorCode.ILLEGAL_SASL_STATE, "Unexpected SaslAuthenticate request before SaslHandshake v1");
  }
  try {
    const r = await exchange.step(req.authBytes);
    if (r.principal !== null) {
      s.principal = r.principal;
      s.authenticated = true;
      s.sasl = null;
      ctx.services.log("debug", `${s.remote} authenticated as ${escapeForLog(r.principal)} with ${exchange.mechanism}`);
    }
    return answer(ErrorCode.NONE, null, r.response);
  } catch (e) {
    if (!(e instanceof SaslError)) throw e;
    s.sasl = null;
    ctx.closeAfterResponse(`SASL ${exchange.mechanism} authentication failed: ${e.message}`);
    return answer(ErrorCode.SASL_AUTHENTICATION_FAILED, e.message);
  }
});
