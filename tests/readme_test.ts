// docs/api.md's API table (linked from the README) lists exactly what ApiVersions advertises, at the same versions.
import { expect, test } from "bun:test";
import { HANDLERS } from "../src/broker/handlers/index.ts";

test("docs/api.md API table matches the handler table", async () => {
  const readme = await Bun.file(new URL("../docs/api.md", import.meta.url)).text();
  const rows = [...readme.matchAll(/^\|\s*([A-Za-z]+)\s*\|\s*(\d+)\s*\|\s*(\d+)(?:-(\d+))?\s*\|/gm)].map((m) =>
    `${m[2]} ${m[1]} ${m[3]}-${m[4] ?? m[3]}`
  );
  const handlers = [...HANDLERS].sort((a, b) => a.api.key - b.api.key).map((h) =>
    `${h.api.key} ${h.api.name} ${h.versions[0]}-${h.versions[1]}`
  );
  expect(rows).toEqual(handlers);
});
