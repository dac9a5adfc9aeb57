// The checks of a SCRAM credential change and their messages, as Kafka's AlterUserScramCredentials
// gives them: the handler (51_alter_user_scram_credentials.ts) and the console's user form share them.
import { MAX_ITERATIONS, MIN_ITERATIONS } from "./sasl.ts";

export type ScramProblem = { error: "UNACCEPTABLE_CREDENTIAL" | "UNSUPPORTED_SASL_MECHANISM"; message: string };

export const UNKNOWN_SCRAM_MECHANISM: ScramProblem = {
  error: "UNSUPPORTED_SASL_MECHANISM",
  message: "Unknown SCRAM mechanism",
};

/** What is wrong with a user name to alter credentials of, or null. */
export function scramUserProblem(user: string): ScramProblem | null {
  return user === "" ? { error: "UNACCEPTABLE_CREDENTIAL", message: "Username must not be empty" } : null;
}

/** What is wrong with a credential to set (its mechanism known), or null. */
export function scramUpsertProblem(iterations: number, emptyCredential: boolean): ScramProblem | null {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS) {
    return {
      error: "UNACCEPTABLE_CREDENTIAL",
      message: `Too few iterations: ${iterations}, the minimum is ${MIN_ITERATIONS}`,
    };
  }
  if (iterations > MAX_ITERATIONS) {
    return {
      error: "UNACCEPTABLE_CREDENTIAL",
      message: `Too many iterations: ${iterations}, the maximum is ${MAX_ITERATIONS}`,
    };
  }
  if (emptyCredential) {
    return { error: "UNACCEPTABLE_CREDENTIAL", message: "Credential must not have an empty salt or salted password" };
  }
  return null;
}
