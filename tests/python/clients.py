"""confluent-kafka from PyPI (its bundled librdkafka) and aiokafka against the broker.

Usage: clients.py BOOTSTRAP RUN_ID [case...] | - - --list
Prints `CASE ok <name> <ms>` or `CASE fail <name> <message>` per case (details on stderr); exit 1 on a failure.
"""

import asyncio
import sys
import threading
import time
import traceback
import uuid

import aiokafka
import confluent_kafka
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

BOOTSTRAP = ""
RUN = ""
BOUND = 60.0


def name(s):
    return f"{RUN}-{s}"


def check(ok, what):
    if not ok:
        raise AssertionError(what)


def eq(expected, actual, what):
    if expected != actual:
        raise AssertionError(f"{what}: expected {expected!r} but was {actual!r}")


def admin():
    return AdminClient({"bootstrap.servers": BOOTSTRAP})


def result(futures):
    return {k: f.result(timeout=BOUND) for k, f in futures.items()}


def create_topic(topic, partitions):
    a = admin()  # kept alive until its futures resolve
    result(a.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=30))


def produce(topic, n, **conf):
    p = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "acks": "all", "linger.ms": 5, **conf})
    errors = []
    for i in range(n):
        p.produce(topic, key=f"k{i}", value=f"v{i}", headers=[("seq", str(i).encode())],
                  on_delivery=lambda err, msg: err and errors.append(err))
        p.poll(0)
    check(p.flush(BOUND) == 0, "all delivered")
    check(not errors, f"delivery errors: {errors}")


def read_all(topic, n, isolation="read_uncommitted", **conf):
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": f"reader-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "isolation.level": isolation, **conf})
    c.subscribe([topic])
    out = []
    deadline = time.monotonic() + BOUND
    try:
        while len(out) < n:
            check(time.monotonic() < deadline, f"read {len(out)} of {n} from {topic}")
            m = c.poll(0.2)
            if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                continue
            if m.error():
                raise KafkaException(m.error())
            out.append(m)
    finally:
        c.close()
    return out


def ck_codecs():
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
        topic = name(f"ck-{codec}")
        create_topic(topic, 3)
        produce(topic, 300, **{"compression.type": codec})
        got = read_all(topic, 300)
        values = sorted(int(m.value()[1:]) for m in got)
        eq(list(range(300)), values, f"{codec}: values read back")
        for m in got:
            eq(m.key().decode(), "k" + dict(m.headers())["seq"].decode(), "key and header agree")


def ck_kip848_regex():
    prefix = name("ck848")
    for t in ["a", "b"]:
        create_topic(f"{prefix}-{t}", 2)
        produce(f"{prefix}-{t}", 100)
    create_topic(name("ck848x"), 1)
    produce(name("ck848x"), 10)
    group = name("ck-g848")
    conf = {"bootstrap.servers": BOOTSTRAP, "group.id": group, "group.protocol": "consumer",
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    members = [Consumer(conf), Consumer(conf)]
    for c in members:
        c.subscribe([f"^{prefix}-.*"])
    seen = set()
    deadline = time.monotonic() + BOUND
    while len(seen) < 200:
        check(time.monotonic() < deadline, f"consumed {len(seen)} of 200")
        for c in members:
            m = c.poll(0.1)
            if m is None or m.error():
                continue
            check(m.topic().startswith(prefix + "-"), f"only matching topics: {m.topic()}")
            seen.add((m.topic(), m.value()))
            c.commit(message=m, asynchronous=False)
    a = admin()
    desc = a.describe_consumer_groups([group])[group].result(timeout=BOUND)
    eq(confluent_kafka.ConsumerGroupType.CONSUMER, desc.type, "group type")
    check(len(desc.members) == 2, f"two members: {desc.members}")
    for c in members:
        c.close()
    offsets = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=BOUND)
    eq(200, sum(tp.offset for tp in offsets.topic_partitions), "committed offsets")


def ck_transactions():
    src, dst, group = name("ck-txn-in"), name("ck-txn-out"), name("ck-g-txn")
    create_topic(src, 2)
    create_topic(dst, 2)
    produce(src, 100)
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    c.subscribe([src])
    batch = []
    deadline = time.monotonic() + BOUND
    while len(batch) < 100:
        check(time.monotonic() < deadline, f"read {len(batch)} of 100")
        m = c.poll(0.2)
        if m is not None and not m.error():
            batch.append(m)
    p = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": name("ck-txn")})
    p.init_transactions(BOUND)
    for outcome in ["abort", "commit"]:
        p.begin_transaction()
        for m in batch:
            p.produce(dst, key=m.key(), value=f"{outcome}-".encode() + m.value())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), BOUND)
        if outcome == "abort":
            p.flush(BOUND)
            p.abort_transaction(BOUND)
        else:
            p.commit_transaction(BOUND)
    c.close()
    committed = read_all(dst, 100, "read_committed")
    check(all(m.value().startswith(b"commit-") for m in committed), "read_committed sees only the commit")
    eq(200, len(read_all(dst, 200)), "read_uncommitted sees both")
    a = admin()
    offsets = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=BOUND)
    eq(100, sum(tp.offset for tp in offsets.topic_partitions), "offsets committed with the transaction")


def ck_admin():
    a = admin()
    t = name("ck-adm")
    result(a.create_topics([NewTopic(t, 2, 1, config={"retention.ms": "86400000"})]))
    check(t in a.list_topics(timeout=BOUND).topics, "listed")
    d = a.describe_topics(TopicCollection([t]))[t].result(timeout=BOUND)
    eq(2, len(d.partitions), "partitions")
    result(a.create_partitions([NewPartitions(t, 3)]))
    eq(3, len(a.describe_topics(TopicCollection([t]))[t].result(timeout=BOUND).partitions), "after create_partitions")
    cluster = a.describe_cluster().result(timeout=BOUND)
    check(cluster.cluster_id and len(cluster.nodes) == 1, f"cluster: {cluster}")
    res = ConfigResource(ResourceType.TOPIC, t)
    # Legacy AlterConfigs replaces the dynamic set; then incremental SET and DELETE.
    result(a.alter_configs([ConfigResource(ResourceType.TOPIC, t, set_config={"max.message.bytes": "4000"})]))
    cfg = list(result(a.describe_configs([res])).values())[0]
    eq("4000", cfg["max.message.bytes"].value, "legacy alter_configs")
    eq("604800000", cfg["retention.ms"].value, "retention.ms reset by the legacy replace")
    result(a.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, t, incremental_configs=[
        ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("max.message.bytes", None, incremental_operation=AlterConfigOpType.DELETE)])]))
    cfg = list(result(a.describe_configs([res])).values())[0]
    eq("1000", cfg["retention.ms"].value, "incremental SET")
    eq("1048588", cfg["max.message.bytes"].value, "incremental DELETE")
    tp = TopicPartition(t, 0)
    p = Producer({"bootstrap.servers": BOOTSTRAP})
    for i, ts in enumerate([1_700_000_000_010, 1_700_000_000_050, 1_700_000_000_020]):
        p.produce(t, value=f"v{i}", partition=0, timestamp=ts)
    p.flush(BOUND)
    lo = result(a.list_offsets({tp: OffsetSpec.max_timestamp()}))[tp]
    eq((1, 1_700_000_000_050), (lo.offset, lo.timestamp), "max timestamp")
    eq(3, result(a.list_offsets({tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED))[tp].offset,
       "latest")
    dr = result(a.delete_records([TopicPartition(t, 0, 2)]))
    eq(2, list(dr.values())[0].low_watermark, "delete_records low watermark")
    eq(2, result(a.list_offsets({tp: OffsetSpec.earliest()}))[tp].offset, "earliest after delete_records")
    group = name("ck-adm-g")
    result(a.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, [TopicPartition(t, 0, 1)])]))
    got = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=BOUND)
    eq([(t, 0, 1)], [(x.topic, x.partition, x.offset) for x in got.topic_partitions], "group offsets")
    listed = a.list_consumer_groups().result(timeout=BOUND)
    check(group in [g.group_id for g in listed.valid], "list_consumer_groups")
    result(a.delete_consumer_groups([group]))
    acl = AclBinding(ResourceType.TOPIC, t, ResourcePatternType.LITERAL, "User:alice", "*", AclOperation.READ,
                     AclPermissionType.ALLOW)
    result(a.create_acls([acl]))
    flt = AclBindingFilter(ResourceType.TOPIC, t, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                           AclPermissionType.ANY)
    eq([acl], a.describe_acls(flt).result(timeout=BOUND), "describe_acls")
    eq([[acl]], [f.result(timeout=BOUND) for f in a.delete_acls([flt]).values()], "delete_acls")
    user = name("ck-user")
    result(a.alter_user_scram_credentials([UserScramCredentialUpsertion(
        user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 10000), b"secret")]))
    desc = result(a.describe_user_scram_credentials([user]))[user]
    eq([(ScramMechanism.SCRAM_SHA_256, 10000)], [(i.mechanism, i.iterations) for i in desc.scram_credential_infos],
       "SCRAM user")
    result(a.alter_user_scram_credentials([UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)]))
    result(a.delete_topics([t]))
    check(t not in a.list_topics(timeout=BOUND).topics, "deleted")


async def aio_produce_consume():
    topic, group = name("aio"), name("aio-g")
    create_topic(topic, 3)
    p = aiokafka.AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, compression_type="gzip")
    await p.start()
    try:
        for i in range(200):
            await p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("seq", str(i).encode())])
        await p.flush()
    finally:
        await p.stop()
    c = aiokafka.AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group, auto_offset_reset="earliest",
                                  enable_auto_commit=False)
    await c.start()
    seen = set()
    try:
        async def consume():
            while len(seen) < 200:
                batch = await c.getmany(timeout_ms=200)
                for msgs in batch.values():
                    for m in msgs:
                        eq(m.key.decode(), "k" + dict(m.headers)["seq"].decode(), "key and header agree")
                        seen.add(m.value)
                await c.commit()
        await asyncio.wait_for(consume(), BOUND)
    finally:
        await c.stop()
    eq(200, len(seen), "consumed")
    a = admin()
    offsets = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=BOUND)
    eq(200, sum(tp.offset for tp in offsets.topic_partitions), "committed")


async def aio_transactions():
    topic = name("aio-txn")
    create_topic(topic, 1)
    p = aiokafka.AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id=name("aio-txn-id"))
    await p.start()
    try:
        try:
            async with p.transaction():
                await (await p.send(topic, b"aborted"))
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        async with p.transaction():
            await (await p.send(topic, b"committed"))
    finally:
        await p.stop()
    c = aiokafka.AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest",
                                  isolation_level="read_committed")
    await c.start()
    try:
        got = []

        async def consume():
            while not got:
                for msgs in (await c.getmany(timeout_ms=200)).values():
                    got.extend(m.value for m in msgs)
        await asyncio.wait_for(consume(), BOUND)
    finally:
        await c.stop()
    eq([b"committed"], got, "read_committed")
    eq(2, len(read_all(topic, 2)), "read_uncommitted sees both records")


CASES = {
    "confluent-kafka.produce-consume.codecs": ck_codecs,
    "confluent-kafka.kip848-regex": ck_kip848_regex,
    "confluent-kafka.transactions": ck_transactions,
    "confluent-kafka.admin": ck_admin,
    "aiokafka.produce-consume-group": lambda: asyncio.run(aio_produce_consume()),
    "aiokafka.transactions": lambda: asyncio.run(aio_transactions()),
}


def main():
    global BOOTSTRAP, RUN
    BOOTSTRAP, RUN = sys.argv[1], sys.argv[2]
    names = sys.argv[3:]
    if names == ["--list"]:
        print("\n".join(CASES))
        return 0
    failed = False
    for n in names or list(CASES):
        start = time.monotonic()
        try:
            CASES[n]()
            print(f"CASE ok {n} {int((time.monotonic() - start) * 1000)}", flush=True)
        except BaseException as e:  # noqa: BLE001 — every failure is reported as the case's
            failed = True
            sys.stderr.write(f"case {n} failed:\n{traceback.format_exc().strip()}\n\n")
            msg = f"{type(e).__name__}: {e}".replace("\n", " ")
            print(f"CASE fail {n} {msg}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
