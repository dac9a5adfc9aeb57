#!/usr/bin/python3
# Cross-check of scripts/bench with a real client: librdkafka (python3-confluent-kafka).
#   /usr/bin/python3 scripts/bench/rdkafka_check.py --bootstrap 127.0.0.1:9092 [--messages 500000]
#       [--size 1024] [--partitions 4] [--acks 1]
# Produces --messages records of --size bytes (linger.ms=5, batch.size=65536, as the generator's
# 64 KiB batches) into a fresh topic, then consumes them from the beginning; prints one JSON line.
import argparse
import json
import os
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

ap = argparse.ArgumentParser()
ap.add_argument("--bootstrap", required=True)
ap.add_argument("--messages", type=int, default=500000)
ap.add_argument("--size", type=int, default=1024)
ap.add_argument("--partitions", type=int, default=4)
ap.add_argument("--acks", default="1")
a = ap.parse_args()

topic = f"rdkafka-check-{uuid.uuid4().hex[:8]}"
admin = AdminClient({"bootstrap.servers": a.bootstrap})  # keep a reference until the result is in
admin.create_topics([NewTopic(topic, a.partitions, 1)])[topic].result()

value = os.urandom(a.size)
p = Producer({
    "bootstrap.servers": a.bootstrap, "acks": a.acks, "linger.ms": 5, "batch.size": 65536,
    "queue.buffering.max.kbytes": 1048576, "queue.buffering.max.messages": 1000000, "compression.type": "none",
})
t0 = time.perf_counter()
for i in range(a.messages):
    while True:
        try:
            p.produce(topic, value, partition=i % a.partitions)
            break
        except BufferError:
            p.poll(0.001)
    if i % 1000 == 0:
        p.poll(0)
p.flush()
produce_s = time.perf_counter() - t0

c = Consumer({
    "bootstrap.servers": a.bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest",
    "enable.auto.commit": False, "fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 1048576,
})
c.subscribe([topic])
got = 0
t1 = None
while got < a.messages:
    msgs = c.consume(10000, 1.0)
    if msgs and t1 is None:
        t1 = time.perf_counter()
    for m in msgs:
        if m.error() is None:
            got += 1
consume_s = time.perf_counter() - (t1 or time.perf_counter())
c.close()

mb = a.messages * a.size / 1e6
print(json.dumps({
    "client": "confluent-kafka (librdkafka)", "messages": a.messages, "size": a.size, "acks": a.acks,
    "produceMBPerSec": round(mb / produce_s, 1), "produceRecordsPerSec": round(a.messages / produce_s),
    "consumeMBPerSec": round(mb / consume_s, 1), "consumeRecordsPerSec": round(a.messages / consume_s),
}))
