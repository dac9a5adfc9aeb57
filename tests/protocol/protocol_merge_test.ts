// scripts/protocol_merge.ts: one schema for every version of two editions, each version laid out as
// the edition that describes it; changes it cannot express throw.
import { describe, expect, test } from "bun:test";
import { type MergeSchema, mergeSchema } from "../../scripts/protocol_merge.ts";

const schema = (validVersions: string, fields: MergeSchema["fields"]): MergeSchema => ({
  apiKey: 0,
  type: "request",
  name: "XRequest",
  validVersions,
  flexibleVersions: "3+",
  fields,
});

describe("mergeSchema", () => {
  test("old versions keep the older edition's fields; new versions take the newer's", () => {
    const older = schema("0-4", [
      { name: "A", type: "int32", versions: "0+" },
      { name: "Gone", type: "string", versions: "0-1" },
      { name: "B", type: "string", versions: "2+", nullableVersions: "2+" },
    ]);
    const newer = schema("3-6", [
      { name: "A", type: "int32", versions: "3+" },
      { name: "B", type: "string", versions: "3-5", nullableVersions: "3+" },
      { name: "C", type: "uuid", versions: "6+" },
      { name: "T", type: "int32", versions: "4+", taggedVersions: "4+", tag: 0 },
    ]);
    const m = mergeSchema(older, newer);
    expect(m.validVersions).toBe("0-6");
    expect(m.fields).toEqual([
      { name: "A", type: "int32", versions: "0+" },
      { name: "Gone", type: "string", versions: "0-1" },
      { name: "B", type: "string", versions: "2-5", nullableVersions: "2-5" },
      { name: "C", type: "uuid", versions: "6+" },
      { name: "T", type: "int32", versions: "4+", taggedVersions: "4+", tag: 0 },
    ]);
  });

  test("an edition with no versions leaves the other as it is", () => {
    const older = schema("0-2", [{ name: "A", type: "int32", versions: "0+" }]);
    expect(mergeSchema(older, { ...older, validVersions: "none" })).toBe(older);
    expect(mergeSchema(undefined, older)).toBe(older);
  });

  test("a type change or a gap in a field's versions throws", () => {
    const older = schema("0-2", [{ name: "A", type: "int32", versions: "0+" }]);
    expect(() => mergeSchema(older, schema("1-3", [{ name: "A", type: "int64", versions: "1+" }]))).toThrow(
      "type int32 -> int64",
    );
    expect(() =>
      mergeSchema(
        schema("0-2", [{ name: "A", type: "int32", versions: "0" }]),
        schema("1-3", [{ name: "A", type: "int32", versions: "2+" }]),
      )
    ).toThrow("not one range");
  });
});
