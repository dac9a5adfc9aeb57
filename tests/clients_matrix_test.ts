// The README's "Clients tested" matrix is exactly what scripts/clients_matrix.ts renders (sorted clients and cases,
// a client's name and version on its first row only), not edited by hand; that its rows match what the client tests
// ran is checked by each of them (expectReadmeMatrix in tests/e2e/client_results.ts).
import { expect, test } from "bun:test";
import type { ClientResult } from "../scripts/clients_matrix.ts";
import { matrixBlock, matrixCells, parseMatrix, renderMatrix } from "../scripts/clients_matrix.ts";

test("README's client matrix is the renderer's output for the results it shows", async () => {
  const block = matrixBlock(await Bun.file(new URL("../README.md", import.meta.url)).text());
  const results = parseMatrix(block);
  expect(results.length).toBeGreaterThan(0);
  const rendered = renderMatrix(results);
  expect(matrixCells(block)).toEqual(matrixCells(rendered));
  const header = (t: string) => t.split("\n")[0].split("|").map((c) => c.trim());
  expect(header(block)).toEqual(header(rendered));
  // Rendered after a green run: a failed case fails the suite, so the README shows none.
  expect(results.flatMap((r) => Object.entries(r.cases).filter(([, ok]) => !ok).map(([n]) => `${r.client} ${n}`)))
    .toEqual([]);
});

test("the matrix reads back as it was rendered", () => {
  const results: ClientResult[] = [
    { client: "b", version: "2", runtime: "bun", cases: { "x.one": true, "x.two": false } },
    { client: "b", version: "2", runtime: "deno", cases: { "x.one": true } },
    { client: "a", version: "1", runtime: "node", cases: { "y": true } },
  ];
  const back = parseMatrix(renderMatrix(results));
  const key = (r: { client: string; runtime: string }) => `${r.client} ${r.runtime}`;
  expect(back.sort((p, q) => key(p).localeCompare(key(q)))).toEqual(
    results.sort((p, q) => key(p).localeCompare(key(q))),
  );
});
