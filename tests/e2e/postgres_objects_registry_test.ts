// The schema registry on three brokers (Bun, Deno, Node) sharing one PostgreSQL with record data in a private
// versitygw (chronik.object.store): registry writes through any broker, not only `_schemas`' leader, as the
// object data path's conditional append (appendIf) is checked in the PostgreSQL commit (tests in cluster_registry.ts).
import { startPostgres } from "../helpers/postgres.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, startS3 } from "../helpers/s3.ts";
import { registryOnThreeBrokers } from "./cluster_registry.ts";

registryOnThreeBrokers("schema registry on three brokers over PostgreSQL and S3", async () => {
  const pg = await startPostgres();
  const s3 = await startS3();
  await s3.client("chronik-registry");
  return {
    args: [
      "--storage",
      pg.createDatabase("registry"),
      "-o",
      "chronik.object.store=s3://chronik-registry/r",
      "-o",
      `chronik.s3.endpoint=${s3.endpoint}`,
      "-o",
      "chronik.object.flush.ms=20",
    ],
    env: { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY, AWS_REGION: S3_REGION },
    close: async () => {
      pg.destroy();
      await s3.close();
    },
  };
});
