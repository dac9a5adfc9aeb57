// The schema registry on three brokers (Bun, Deno, Node) sharing one PostgreSQL (tests in cluster_registry.ts).
import { startPostgres } from "../helpers/postgres.ts";
import { registryOnThreeBrokers } from "./cluster_registry.ts";

registryOnThreeBrokers("schema registry on three brokers over one PostgreSQL", async () => {
  const pg = await startPostgres();
  return { args: ["--storage", pg.createDatabase("registry")], close: () => pg.destroy() };
});
