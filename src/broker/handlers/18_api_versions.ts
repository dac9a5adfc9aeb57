// ApiVersions (key 18), v0-4. Lists what this broker implements, computed from the handler table
// (handlers/index.ts), so nothing is advertised without a handler.
// Behaviour: an unsupported request version is answered by the server loop with a v0 response
// carrying UNSUPPORTED_VERSION and the supported ranges. v3+ validates the client software
// name and version as Kafka does (INVALID_REQUEST) and records them on the session.
// v3+ carries supported and finalized feature levels (config/features.ts); the finalized epoch goes
// up with each UpdateFeatures change.
import { ErrorCode } from "../../protocol/errors.ts";
import { ApiVersions } from "../../protocol/messages/18_api_versions.ts";
import { describeSession } from "../frame_hint.ts";
import { defineHandler } from "../handler.ts";

const SOFTWARE = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export default defineHandler(ApiVersions, [0, 4], (req, ctx) => {
  if (ctx.apiVersion >= 3) {
    if (!SOFTWARE.test(req.clientSoftwareName) || !SOFTWARE.test(req.clientSoftwareVersion)) {
      return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys: ctx.services.apiVersions, throttleTimeMs: 0 };
    }
    ctx.session.clientSoftwareName = req.clientSoftwareName;
    ctx.session.clientSoftwareVersion = req.clientSoftwareVersion;
  }
  if (ctx.services.config.logLevel === "debug") ctx.services.log("debug", `connection ${describeSession(ctx.session)}`);
  return {
    errorCode: ErrorCode.NONE,
    apiKeys: ctx.services.apiVersions,
    throttleTimeMs: 0,
    supportedFeatures: [...ctx.services.features.supported].map(([name, r]) => ({
      name,
      minVersion: r.min,
      maxVersion: r.max,
    })),
    finalizedFeaturesEpoch: ctx.services.features.epoch,
    finalizedFeatures: ctx.services.features.finalized(),
    zkMigrationReady: false,
  };
});
