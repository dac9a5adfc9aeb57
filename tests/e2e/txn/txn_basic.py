# Commit visible to read_committed; abort invisible to read_committed and visible to read_uncommitted;
# a second producer with the same transactional.id fences the first.
import sys, json, time
from confluent_kafka import Producer, Consumer, KafkaException, KafkaError

bootstrap = sys.argv[1]
def consume(isolation):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader-%s-%f" % (isolation, time.time()), "auto.offset.reset": "earliest",
                  "isolation.level": isolation, "enable.auto.commit": False})
    c.subscribe(["txn-basic"])
    out, start, last = [], time.time(), None
    while time.time() - start < 30 and (last is None or time.time() - last < 2):
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        last = time.time()
        out.append(m.value().decode())
    c.close()
    return out

p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "basic"})
p.init_transactions(30)
p.begin_transaction()
for i in range(3):
    p.produce("txn-basic", value=("committed-%d" % i).encode(), partition=0)
p.commit_transaction(30)
p.begin_transaction()
for i in range(2):
    p.produce("txn-basic", value=("aborted-%d" % i).encode(), partition=0)
p.flush()
p.abort_transaction(30)

# Fencing: a newer producer with the same id.
p2 = Producer({"bootstrap.servers": bootstrap, "transactional.id": "basic"})
p2.init_transactions(30)
fenced = False
try:
    p.begin_transaction()
    p.produce("txn-basic", value=b"zombie", partition=0)
    p.commit_transaction(10)
except KafkaException as e:
    fenced = e.args[0].code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH) or e.args[0].fatal()
p2.begin_transaction()
p2.produce("txn-basic", value=b"after-fence", partition=0)
p2.commit_transaction(30)

print(json.dumps({"committed": consume("read_committed"), "uncommitted": consume("read_uncommitted"), "fenced": fenced}))
