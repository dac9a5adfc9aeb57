// The LogStore contract (contract.ts) on the PostgreSQL engine, against a real private server
// (tests/helpers/postgres.ts); a fresh database per store.
import { afterAll } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { parsePostgresUrl, PgPool } from "../../src/storage/postgres/client.ts";
import { postgresLogStore } from "../../src/storage/postgres/log.ts";
import { ensureSchema } from "../../src/storage/postgres/schema.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { runLogStoreContract } from "./contract.ts";

const pg = await startPostgres();
afterAll(() => pg.destroy());

runLogStoreContract("postgres engine", async () => {
  const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.createDatabase("contract")));
  await ensureSchema(pool);
  return postgresLogStore(pool, true);
});
