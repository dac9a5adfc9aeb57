// Request bodies that many handler tests send the same way.
import type { InitProducerIdRequest } from "../../src/protocol/messages/22_init_producer_id.ts";

/** InitProducerId for a new producer (or, given its id and epoch, a bump); no two-phase commit (KIP-939). */
export function initProducerIdRequest(
  transactionalId: string | null,
  transactionTimeoutMs: number,
  producerId = -1n,
  producerEpoch = -1,
): InitProducerIdRequest {
  return { transactionalId, transactionTimeoutMs, producerId, producerEpoch, enable2Pc: false, keepPreparedTxn: false };
}
