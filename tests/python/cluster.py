"""confluent-kafka against a cluster of brokers (tests/e2e/postgres_cluster_clients_test.ts), with clients.py's helpers
and case runner.

Usage: cluster.py BOOTSTRAP1,BOOTSTRAP2,... RUN_ID [case...] | - - --list
Prints `CASE ok <name> <ms>` or `CASE fail <name> <message>` per case (details on stderr); exit 1 on a failure.
"""

import sys
import time

import clients
from clients import check, eq
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition


def ck_cluster():
    """Against a cluster (tests/e2e/postgres_cluster_clients_test.ts; BOOTSTRAP lists every broker, and the topic
    RUN-ck exists with 6 partitions led by different brokers): three members of one classic group, each bootstrapped
    through a different broker, share the partitions; then an idempotent acks=all producer sends record i to partition
    i%6, each acknowledged at the next offset of its partition; the group reads each record once, in order per
    partition, and commits the log ends."""
    topic, group, parts, n = clients.name("ck"), clients.name("ck-group"), 6, 300
    addresses = clients.BOOTSTRAP.split(",")
    members = [Consumer({"bootstrap.servers": addresses[m % len(addresses)], "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, "fetch.wait.max.ms": 100})
               for m in range(3)]
    read = {p: [] for p in range(parts)}
    total = 0

    def poll_all():
        nonlocal total
        for c in members:
            m = c.poll(0.05)
            if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                continue
            if m.error():
                raise KafkaException(m.error())
            read[m.partition()].append(m.value().decode())
            total += 1

    def spread():
        held = [tp.partition for c in members for tp in c.assignment()]
        return all(c.assignment() for c in members) and sorted(held) == list(range(parts))

    try:
        for c in members:
            c.subscribe([topic])
        deadline = time.monotonic() + clients.BOUND
        while not spread():
            check(time.monotonic() < deadline, f"the partitions never spread over three members: "
                  f"{[[tp.partition for tp in c.assignment()] for c in members]}")
            poll_all()
        p = Producer({"bootstrap.servers": clients.BOOTSTRAP, "enable.idempotence": True, "acks": "all",
                      "linger.ms": 5})
        acked = {}
        errors = []

        def on_delivery(err, msg):
            if err:
                errors.append(err)
            else:
                acked[int(msg.value()[1:])] = (msg.partition(), msg.offset())
        for i in range(n):
            p.produce(topic, key=f"k{i}", value=f"c{i}", partition=i % parts, on_delivery=on_delivery)
            p.poll(0)
        check(p.flush(clients.BOUND) == 0, "all delivered")
        check(not errors, f"delivery errors: {errors}")
        for i in range(n):
            eq((i % parts, i // parts), acked.get(i), f"partition and offset of record {i}")
        deadline = time.monotonic() + clients.BOUND
        while total < n:
            check(time.monotonic() < deadline, f"the group read {total} of {n}")
            poll_all()
        for _ in range(6):
            poll_all()  # a duplicate would arrive now: none may
        for part in range(parts):
            eq([f"c{i}" for i in range(part, n, parts)], read[part],
               f"records of partition {part} as the group read them")
        for c in members:
            if c.assignment():
                c.commit(asynchronous=False)
        committed = members[0].committed([TopicPartition(topic, part) for part in range(parts)], timeout=clients.BOUND)
        eq([n // parts] * parts, [tp.offset for tp in committed], "committed offsets")
    finally:
        for c in members:
            c.close()



if __name__ == "__main__":
    clients.CASES = {"confluent-kafka.cluster.idempotent-group": ck_cluster}
    sys.exit(clients.main())
