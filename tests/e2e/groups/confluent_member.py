# A librdkafka (python3-confluent-kafka) group member: consumes until it has seen `want` records
# in total across the group (the parent tells it via a file) or `seconds` pass; prints JSON lines:
# {"assigned": [...]} on every assignment, {"value": ...} per record.
import json, sys, time
from confluent_kafka import Consumer

port, group, topic, strategy, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
owned = set()

def on_assign(c, parts):
    if strategy == "cooperative-sticky":
        owned.update(p.partition for p in parts)
    else:
        owned.clear(); owned.update(p.partition for p in parts)
    print(json.dumps({"assigned": sorted(owned)}), flush=True)

def on_revoke(c, parts):
    if strategy == "cooperative-sticky":
        owned.difference_update(p.partition for p in parts)
    else:
        owned.clear()
    print(json.dumps({"assigned": sorted(owned)}), flush=True)

c = Consumer({
    "bootstrap.servers": f"127.0.0.1:{port}",
    "group.id": group,
    "partition.assignment.strategy": strategy,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 300,
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 200,
    "fetch.wait.max.ms": 100,
})
c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
end = time.time() + seconds
while time.time() < end:
    m = c.poll(0.1)
    if m is None or m.error():
        continue
    print(json.dumps({"value": m.value().decode(), "partition": m.partition()}), flush=True)
c.close()
print(json.dumps({"closed": True}), flush=True)
