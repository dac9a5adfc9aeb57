// Compaction on PostgreSQL storage with real clients, on a Deno broker over a private PostgreSQL (tests in
// compaction_kafkajs.ts).
import { startBrokerProcess } from "./harness.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { compactionWithKafkajs } from "./compaction_kafkajs.ts";

compactionWithKafkajs(async () => {
  const pg = await startPostgres();
  const broker = await startBrokerProcess("deno", [
    "--storage",
    pg.createDatabase("compact"),
    "-o",
    "log.cleaner.backoff.ms=1000",
  ]);
  return { broker, close: () => pg.destroy() };
});
