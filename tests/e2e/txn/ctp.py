# Consume-transform-produce with confluent-kafka transactions: reads `in`, writes upper-cased values to
# `out` and commits the consumed offsets in the same transaction. Prints "committed N" per transaction.
# Usage: ctp.py BOOTSTRAP GROUP TXN_ID [MAX_TXNS]
import sys
from confluent_kafka import Consumer, Producer, TopicPartition, KafkaException

bootstrap, group, txn_id = sys.argv[1], sys.argv[2], sys.argv[3]
max_txns = int(sys.argv[4]) if len(sys.argv) > 4 else 10**9
consumer = Consumer({
    "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
    "auto.offset.reset": "earliest", "isolation.level": "read_committed",
    "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
})
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5})
producer.init_transactions(30)
consumer.subscribe(["ctp-in"])
idle = 0
done = 0
while done < max_txns:
    msgs = consumer.consume(num_messages=200, timeout=1.0)
    msgs = [m for m in msgs if m.error() is None]
    if not msgs:
        idle += 1
        if idle > (20 if done == 0 else 5):
            break
        continue
    idle = 0
    producer.begin_transaction()
    for m in msgs:
        producer.produce("ctp-out", key=m.key(), value=m.value().upper(), partition=m.partition())
    positions = consumer.position(consumer.assignment())
    producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)
    done += 1
    print("committed", len(msgs), flush=True)
consumer.close()
