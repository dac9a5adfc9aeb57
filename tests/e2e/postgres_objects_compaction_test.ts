// Compaction with record data in objects (chronik.object.store on a private versitygw, PostgreSQL as the index), on
// a Bun broker, with real clients (tests in compaction_kafkajs.ts); then the objects the cleaner left unreferenced
// are deleted by the object GC, and those still referenced stay.
import { expect } from "bun:test";
import { startBrokerProcess } from "./harness.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3, type TestS3 } from "../helpers/s3.ts";
import type { ObjectStore } from "../../src/storage/objects/store.ts";
import { compactionWithKafkajs } from "./compaction_kafkajs.ts";

let pg: TestPostgres, s3: TestS3, bucket: ObjectStore, db = "";
compactionWithKafkajs(async () => {
  pg = await startPostgres();
  s3 = await startS3();
  bucket = await s3.client("chronik-compact");
  const url = pg.createDatabase("compact");
  db = url.slice(url.lastIndexOf("/") + 1);
  const broker = await startBrokerProcess("bun", [
    "--storage",
    url,
    "-o",
    "chronik.object.store=s3://chronik-compact/c",
    "-o",
    `chronik.s3.endpoint=${s3.endpoint}`,
    "-o",
    "chronik.object.flush.ms=5",
    "-o",
    "chronik.object.gc.interval.ms=300",
    "-o",
    "log.cleaner.backoff.ms=1000",
  ], { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY, AWS_REGION: S3_REGION });
  return {
    broker,
    close: async () => {
      pg.destroy();
      await s3.close();
    },
  };
}, async () => {
  // The GC deletes what no extent refers to any more; every object an extent refers to is still there.
  const referenced = () => {
    const keys = new Set<string>();
    for (const line of pg.psql("SELECT DISTINCT object_key FROM chronik_extents", db).split("\n")) {
      if (line.trim() !== "") keys.add(line.trim());
    }
    return keys;
  };
  const data = async () => (await bucket.list("c/chronik-data/")).objects.map((o) => o.key);
  let stored: string[] = [];
  for (let i = 0; i < 50; i++) {
    stored = await data();
    const refs = referenced();
    if (stored.length === refs.size) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const refs = referenced();
  for (const k of refs) expect(stored).toContain(k);
  expect(stored.length).toBe(refs.size);
});
