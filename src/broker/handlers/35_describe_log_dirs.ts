// DescribeLogDirs (key 35), v0-4. The one log directory (--data-dir; "(memory)" without one) and
// the stored size of each partition in it (segment bytes as the storage engine counts them).
// Behaviour: topics null means every partition; named partitions that do not exist are left out,
// as in Kafka. offsetLag is 0 (no future replicas); totalBytes and usableBytes (v4+) are -1
// (unknown): the FileSystem port has no statfs. A log dir gone offline after an I/O error
// (docs/storage.md, Failures) is answered as Kafka answers it: KAFKA_STORAGE_ERROR and no partitions.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeLogDirs } from "../../protocol/messages/35_describe_log_dirs.ts";
import { clusterAllowed, Op } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { logDirOffline } from "../log_dir.ts";
import { logDirOf } from "./34_alter_replica_log_dirs.ts";

export default defineHandler(DescribeLogDirs, [0, 4], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  // ACLs: DESCRIBE on the cluster.
  if (!clusterAllowed(ctx, Op.DESCRIBE)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
  }
  const wanted = req.topics === null
    ? [...svc.topics.list()].map((t) => ({ topic: t.name, partitions: t.partitions.map((_, i) => i) }))
    : req.topics;
  const topics = [];
  for (const w of wanted) {
    const t = svc.topics.get(w.topic);
    if (!t) continue;
    const partitions = [];
    for (const i of w.partitions) {
      const log = t.partitions[i];
      if (!log) continue;
      partitions.push({ partitionIndex: i, partitionSize: BigInt(log.sizeInBytes), offsetLag: 0n, isFutureKey: false });
    }
    if (partitions.length > 0) topics.push({ name: t.name, partitions });
  }
  const offline = logDirOffline(svc) !== null;
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [{
      errorCode: offline ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE,
      logDir: logDirOf(svc),
      topics: offline ? [] : topics,
      totalBytes: -1n,
      usableBytes: -1n,
    }],
  };
});
