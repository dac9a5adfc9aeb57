// Which handlers are defined with LARGE_RESPONSE (one at a time per connection, issue #14.2) is
// derived from the schemas, so that a new handler cannot be forgotten as 74, 77, 78 and 90 were
// when the set was a hand-kept list in connection.ts. A response can be much larger than its
// request when it carries records, when the request can say "all" (a nullable array, or no array
// of structs at all) while the response lists entries, or when the response nests entries deeper
// than the request names them. The few that match and are still bounded by the request are listed
// below with the reason.
import { describe, expect, test } from "bun:test";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import type { Field } from "../../src/protocol/schema.ts";

/** Levels of arrays of structs (entries), at the deepest. */
const depth = (fs: Field[]): number =>
  Math.max(0, ...fs.map((f) => (f.array && f.type === "struct" ? 1 : 0) + (f.fields ? depth(f.fields) : 0)));
const some = (fs: Field[], p: (f: Field) => boolean): boolean =>
  fs.some((f) => p(f) || (f.fields !== undefined && some(f.fields, p)));

/** Matches the rule, but the response is bounded by what the request names. */
const BOUNDED: Record<string, string> = {
  Produce: "one answer per partition sent; recordErrors at most one per record sent",
  ApiVersions: "a fixed list (the handlers)",
  SaslHandshake: "a fixed list (the enabled mechanisms)",
  FindCoordinator: "one coordinator per key sent",
  DeleteGroups: "one answer per group named",
  AddPartitionsToTxn: "one answer per partition sent",
  WriteTxnMarkers: "one answer per partition sent",
  CreatePartitions: "one answer per topic sent (null assignments only means none)",
  ElectLeaders: "a null partition list is answered with an empty one",
  AlterPartitionReassignments: "one answer per partition sent (null replicas cancel)",
  ConsumerGroupHeartbeat: "one member's assignment (it goes to the coordinator's connection)",
  ShareGroupHeartbeat: "one member's assignment (it goes to the coordinator's connection)",
  GetTelemetrySubscriptions: "a fixed list (the metric prefixes)",
};

function mayBeLarge(request: Field[], response: Field[]): boolean {
  if (some(response, (f) => f.type === "records")) return true;
  const listsEntries = depth(response) > 0;
  const requestSaysAll = depth(request) === 0 ||
    some(request, (f) => f.array === true && f.nullableSince !== undefined);
  return listsEntries && (requestSaysAll || depth(response) > depth(request));
}

describe("LARGE_RESPONSE", () => {
  test("every handler whose response can be much larger than its request has it", () => {
    const wrong: string[] = [];
    for (const h of HANDLERS) {
      const derived = mayBeLarge(h.api.request, h.api.response) && !(h.api.name in BOUNDED);
      if (derived !== h.largeResponse) wrong.push(`${h.api.key} ${h.api.name}: should be ${derived}`);
    }
    expect(wrong).toEqual([]);
  });

  test("the exceptions name real handlers", () => {
    const names = new Set(HANDLERS.map((h) => h.api.name));
    for (const name of Object.keys(BOUNDED)) expect(names.has(name)).toBe(true);
  });

  test("the ones the review found missing are covered", () => {
    const large = new Set(HANDLERS.filter((h) => h.largeResponse).map((h) => h.api.key));
    for (const key of [1, 3, 9, 74, 77, 78, 90]) expect(large.has(key)).toBe(true);
  });
});
