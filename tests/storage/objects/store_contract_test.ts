// The ObjectStore contract on the memory store and on the S3 client against versitygw, so the memory store
// the unit tests use behaves as a real server does.
import { afterAll, beforeAll } from "bun:test";
import { memoryObjectStore } from "../../../src/storage/objects/memory.ts";
import { startS3, type TestS3 } from "../../helpers/s3.ts";
import { objectStoreContract } from "./store_contract.ts";

let s3: TestS3;
let n = 0;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => s3?.close());

objectStoreContract("memory", () => Promise.resolve(memoryObjectStore()));
objectStoreContract("S3 client on versitygw", () => s3.client(`contract-${n++}`));
