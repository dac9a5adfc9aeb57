// AlterUserScramCredentials (key 51), v0 (KIP-554). Creates, replaces and deletes users' SCRAM
// credentials. The client sends the salted password (Hi(password, salt, iterations)); the broker
// keeps StoredKey and ServerKey derived from it, and the salt and iterations, in the admin store.
// Behaviour, per user (one result each, all of a user's changes or none): an empty name or salted
// password, or iterations outside 4096..16384, is UNACCEPTABLE_CREDENTIAL; an unknown mechanism
// UNSUPPORTED_SASL_MECHANISM; the same user and mechanism twice DUPLICATE_RESOURCE; deleting a
// credential that does not exist RESOURCE_NOT_FOUND — with Kafka's messages. Changes take effect
// for the next authentication; connections already authenticated stay so.
import { ErrorCode } from "../../protocol/errors.ts";
import { AlterUserScramCredentials } from "../../protocol/messages/51_alter_user_scram_credentials.ts";
import type { ScramCredential, ScramMechanism } from "../auth/sasl.ts";
import { credentialFromSalted, SCRAM_TYPE } from "../auth/sasl.ts";
import { scramUpsertProblem, scramUserProblem, UNKNOWN_SCRAM_MECHANISM } from "../auth/scram_checks.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler } from "../handler.ts";

const BY_TYPE = new Map<number, ScramMechanism>(Object.entries(SCRAM_TYPE).map(([m, t]) => [t, m as ScramMechanism]));

type Change = {
  kind: "delete" | "upsert";
  mechanism: number;
  iterations?: number;
  salt?: Uint8Array;
  saltedPassword?: Uint8Array;
};

export default defineHandler(AlterUserScramCredentials, [0, 0], async (req, ctx) => {
  const creds = ctx.services.auth.scram;
  // ACLs: ALTER on the cluster.
  if (!clusterAllowed(ctx, Op.ALTER)) {
    const users = [...new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)])];
    return {
      throttleTimeMs: 0,
      results: users.map((user) => ({
        user,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: "Cluster authorization failed.",
      })),
    };
  }
  const byUser = new Map<string, Change[]>();
  const add = (name: string, c: Change) => {
    let l = byUser.get(name);
    if (!l) byUser.set(name, l = []);
    l.push(c);
  };
  for (const d of req.deletions) add(d.name, { kind: "delete", mechanism: d.mechanism });
  for (const u of req.upsertions) {
    add(u.name, {
      kind: "upsert",
      mechanism: u.mechanism,
      iterations: u.iterations,
      salt: u.salt,
      saltedPassword: u.saltedPassword,
    });
  }
  const results = [];
  let changed = false;
  for (const [user, changes] of byUser) {
    const error = (errorCode: number, errorMessage: string) => results.push({ user, errorCode, errorMessage });
    const userProblem = scramUserProblem(user);
    if (userProblem) {
      error(ErrorCode[userProblem.error], userProblem.message);
      continue;
    }
    const mechanisms = new Set<number>();
    let bad: [number, string] | null = null;
    for (const c of changes) {
      const mechanism = BY_TYPE.get(c.mechanism);
      if (mechanism === undefined) bad ??= [ErrorCode[UNKNOWN_SCRAM_MECHANISM.error], UNKNOWN_SCRAM_MECHANISM.message];
      else if (mechanisms.has(c.mechanism)) {
        bad ??= [ErrorCode.DUPLICATE_RESOURCE, "A user credential cannot be altered twice in the same request"];
      } else if (c.kind === "delete" && !creds.has(user, mechanism)) {
        bad ??= [ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist"];
      } else if (c.kind === "upsert") {
        const p = scramUpsertProblem(c.iterations!, c.saltedPassword!.length === 0 || c.salt!.length === 0);
        if (p) bad ??= [ErrorCode[p.error], p.message];
      }
      mechanisms.add(c.mechanism);
    }
    if (bad) {
      error(bad[0], bad[1]);
      continue;
    }
    const apply: [ScramMechanism, ScramCredential | null][] = [];
    for (const c of changes) {
      const mechanism = BY_TYPE.get(c.mechanism)!;
      apply.push([
        mechanism,
        c.kind === "delete"
          ? null
          : await credentialFromSalted(mechanism, c.saltedPassword!.slice(), c.salt!.slice(), c.iterations!),
      ]);
    }
    for (const [mechanism, cred] of apply) {
      if (cred === null) creds.delete(user, mechanism);
      else creds.set(user, mechanism, cred);
    }
    changed = true;
    results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
  }
  if (changed) await creds.changed();
  return { throttleTimeMs: 0, results };
});
