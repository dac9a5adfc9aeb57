"""confluent-kafka's SchemaRegistryClient and Avro serializer against Chronik's schema registry.

python registry.py <bootstrap> <registry-url> <topic>: registers the value schema through the serializer
(auto.register.schemas), produces three records, consumes them with the Avro deserializer and prints
"ok <n>" when every record decoded as produced. Also checks the registry client's own calls.
"""
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

bootstrap, url, topic = sys.argv[1:4]
schema = """{"type": "record", "name": "Payment", "namespace": "test",
  "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}]}"""

client = SchemaRegistryClient({"url": url})
serializer = AvroSerializer(client, schema)
deserializer = AvroDeserializer(client)
produced = [{"id": f"p{i}", "amount": i * 1.5} for i in range(3)]

producer = Producer({"bootstrap.servers": bootstrap})
for value in produced:
    producer.produce(topic, value=serializer(value, SerializationContext(topic, MessageField.VALUE)))
producer.flush(30)

latest = client.get_latest_version(f"{topic}-value")
assert latest.version == 1, latest
assert client.get_subjects() == [f"{topic}-value"], client.get_subjects()
# A compatible evolution (a field with a default) registers as version 2; an incompatible one is refused.
evolved = schema.replace('"type": "double"}]', '"type": "double"}, {"name": "note", "type": "string", "default": ""}]')
assert client.register_schema(f"{topic}-value", Schema(evolved, "AVRO")) != latest.schema_id
try:
    client.register_schema(f"{topic}-value", Schema(schema.replace('"double"', '"string"'), "AVRO"))
    raise AssertionError("an incompatible schema was registered")
except Exception as e:  # SchemaRegistryError 409
    assert "409" in str(e) or "incompatible" in str(e).lower(), e

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-g", "auto.offset.reset": "earliest"})
consumer.subscribe([topic])
got = []
while len(got) < len(produced):
    m = consumer.poll(10)
    if m is None:
        raise AssertionError(f"timed out after {len(got)} records")
    if m.error():
        raise AssertionError(m.error())
    got.append(deserializer(m.value(), SerializationContext(topic, MessageField.VALUE)))
consumer.close()
assert got == produced, got
print(f"ok {len(got)}")
