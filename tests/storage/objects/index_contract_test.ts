// The ObjectIndex contracts on the in-memory index (the PostgreSQL index runs them in postgres_index_test.ts).
import { memoryObjectIndex } from "../../../src/storage/objects/index.ts";
import { compactableIndexContract, objectIndexContract } from "./index_contract.ts";

objectIndexContract("memory", () => Promise.resolve(memoryObjectIndex()));
compactableIndexContract("memory", () => Promise.resolve(memoryObjectIndex()));
