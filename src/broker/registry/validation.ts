// Broker-side schema validation, as Confluent Server and Redpanda offer it: a topic with
// confluent.value.schema.validation=true (or .key.) refuses a batch any of whose records' values
// (keys) does not start with Confluent's wire format header (magic byte 0 and a 4-byte schema id)
// naming a schema the registry holds. Null values and keys are allowed (tombstones). Only topics
// with the config pay for decoding their batches; the produce path answers INVALID_RECORD.
import { decodeRecords } from "../../protocol/record_batch.ts";
import type { Services } from "../services.ts";
import type { Topic } from "../topics.ts";
import { wireSchemaId } from "./registry.ts";

export function schemaValidationError(svc: Services, topic: Topic, batch: Uint8Array): string | null {
  const keys = svc.topics.config(topic, "confluent.key.schema.validation", svc.config) === "true";
  const values = svc.topics.config(topic, "confluent.value.schema.validation", svc.config) === "true";
  if (!keys && !values) return null;
  const ok = (b: Uint8Array | null) => {
    if (b === null) return true;
    const id = wireSchemaId(b);
    return id !== null && svc.registry.hasId(id);
  };
  let records;
  try {
    records = decodeRecords(batch).records;
  } catch (e) {
    return `Records could not be decoded for schema validation: ${e instanceof Error ? e.message : String(e)}`;
  }
  for (let i = 0; i < records.length; i++) {
    if (keys && !ok(records[i].key)) {
      return `Record ${i} of the batch has a key without a registered schema id (confluent.key.schema.validation)`;
    }
    if (values && !ok(records[i].value)) {
      return `Record ${i} of the batch has a value without a registered schema id (confluent.value.schema.validation)`;
    }
  }
  return null;
}
