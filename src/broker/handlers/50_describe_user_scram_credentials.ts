// DescribeUserScramCredentials (key 50), v0 (KIP-554). The SCRAM mechanisms and iteration counts of
// users (never salts or keys). Behaviour: null or empty `users` describes every user with a
// credential; a user named twice gets DUPLICATE_RESOURCE, one without credentials
// RESOURCE_NOT_FOUND, each with Kafka's message.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeUserScramCredentials } from "../../protocol/messages/50_describe_user_scram_credentials.ts";
import { SCRAM_TYPE } from "../auth/sasl.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";

export default defineHandler(DescribeUserScramCredentials, [0, 0], LARGE_RESPONSE, (req, ctx) => {
  const creds = ctx.services.auth.scram;
  // ACLs: DESCRIBE on the cluster.
  if (!clusterAllowed(ctx, Op.DESCRIBE)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: "Cluster authorization failed.",
      results: [],
    };
  }
  const names = req.users === null || req.users.length === 0 ? creds.userNames() : req.users.map((u) => u.name);
  const seen = new Map<string, number>();
  for (const n of names) seen.set(n, (seen.get(n) ?? 0) + 1);
  const done = new Set<string>();
  const results = [];
  for (const user of names) {
    if (done.has(user)) continue;
    done.add(user);
    if (seen.get(user)! > 1) {
      results.push({
        user,
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
        credentialInfos: [],
      });
      continue;
    }
    const infos = creds.describe(user);
    if (!infos) {
      results.push({
        user,
        errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: `Attempt to describe a user credential that does not exist: ${user}`,
        credentialInfos: [],
      });
      continue;
    }
    results.push({
      user,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      credentialInfos: infos.map((i) => ({ mechanism: SCRAM_TYPE[i.mechanism], iterations: i.iterations })),
    });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
});
