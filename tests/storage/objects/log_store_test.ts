// The LogStore contract that the memory and file engines pass, on the object data path: over the memory
// object store, and over the S3 client against versitygw.
import { afterAll, beforeAll } from "bun:test";
import { objectDataPath } from "../../../src/storage/objects/data_path.ts";
import { memoryObjectIndex } from "../../../src/storage/objects/index.ts";
import { objectLogStore } from "../../../src/storage/objects/log_store.ts";
import { memoryObjectStore } from "../../../src/storage/objects/memory.ts";
import type { ObjectStore } from "../../../src/storage/objects/store.ts";
import { startS3, type TestS3 } from "../../helpers/s3.ts";
import { runLogStoreContract } from "../contract.ts";
import { smallPathConfig } from "../../helpers/object_batches.ts";

const config = smallPathConfig("c");
function make(store: ObjectStore) {
  const index = memoryObjectIndex();
  return objectLogStore({ path: objectDataPath({ config, index, nodeId: 1, store }), index, prefix: "c" });
}

runLogStoreContract("object data path, memory object store", async () => make(memoryObjectStore()));

let s3: TestS3;
let n = 0;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => s3?.close());
runLogStoreContract("object data path, S3 on versitygw", async () => make(await s3.client(`log-${n++}`)));
