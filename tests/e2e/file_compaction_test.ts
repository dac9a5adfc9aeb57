// Compaction on the file engine with real clients, on a Node broker (tests in compaction_kafkajs.ts).
import { startBrokerProcess } from "./harness.ts";
import { compactionWithKafkajs } from "./compaction_kafkajs.ts";

compactionWithKafkajs(async () => {
  const broker = await startBrokerProcess("node", ["-o", "log.cleaner.backoff.ms=1000"]);
  return { broker, close: () => {} };
});
