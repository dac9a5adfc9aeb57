package chronik;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Queues (KIP-932) through the Java KafkaShareConsumer: share.version turned on with the Admin client, the group
 * started at the earliest offset through its share.auto.offset.reset group config, then two share consumers on one
 * partition with explicit acknowledgement: every record accepted exactly once, a released record delivered again
 * (delivery count 2), a rejected one never again.
 */
final class QueueCases {
  private QueueCases() {}

  static void register(Map<String, Main.Case> cases) {
    cases.put("share.queue", QueueCases::queue);
  }

  static void queue(Env env) throws Exception {
    String topic = env.name("queue");
    String group = env.name("queue-group");
    try (Admin admin = Admin.create(env.base())) {
      admin.updateFeatures(
        Map.of("share.version", new FeatureUpdate((short) 1, FeatureUpdate.UpgradeType.UPGRADE)),
        new UpdateFeaturesOptions()
      ).all().get();
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
      admin.incrementalAlterConfigs(Map.of(
        new ConfigResource(ConfigResource.Type.GROUP, group),
        List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET))
      )).all().get();
    }
    Map<String, Object> pp = env.base();
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      for (int i = 0; i < 30; i++) producer.send(new ProducerRecord<>(topic, "m" + i)).get();
    }
    List<KafkaShareConsumer<String, String>> consumers = new ArrayList<>();
    for (int c = 0; c < 2; c++) {
      Properties p = new Properties();
      p.putAll(env.base());
      p.put("group.id", group);
      p.put("client.id", env.name("share-" + c));
      p.put("share.acknowledgement.mode", "explicit");
      p.put("key.deserializer", StringDeserializer.class.getName());
      p.put("value.deserializer", StringDeserializer.class.getName());
      KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(p);
      consumer.subscribe(List.of(topic));
      consumers.add(consumer);
    }
    Set<String> accepted = new HashSet<>();
    Map<String, Integer> deliveries = new HashMap<>();
    boolean released = false;
    long deadline = System.currentTimeMillis() + 60_000;
    try {
      while (accepted.size() < 29 && System.currentTimeMillis() < deadline) {
        for (KafkaShareConsumer<String, String> consumer : consumers) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
            deliveries.merge(r.value(), 1, Integer::sum);
            if (r.value().equals("m7")) {
              consumer.acknowledge(r, AcknowledgeType.REJECT);
            } else if (r.value().equals("m5") && !released) {
              released = true;
              consumer.acknowledge(r, AcknowledgeType.RELEASE);
            } else {
              if (!accepted.add(r.value())) throw new AssertionError("accepted twice: " + r.value());
              if (r.value().equals("m5") && r.deliveryCount().orElse((short) 0) != 2) {
                throw new AssertionError("m5 redelivered with delivery count " + r.deliveryCount());
              }
              consumer.acknowledge(r, AcknowledgeType.ACCEPT);
            }
          }
          consumer.commitSync();
        }
      }
      if (accepted.size() != 29) throw new AssertionError("accepted " + accepted.size() + " of 29: " + accepted);
      if (accepted.contains("m7")) throw new AssertionError("a rejected record was accepted");
      if (deliveries.getOrDefault("m7", 0) != 1) throw new AssertionError("m7 delivered " + deliveries.get("m7") + " times");
      if (deliveries.getOrDefault("m5", 0) != 2) throw new AssertionError("m5 delivered " + deliveries.get("m5") + " times");
    } finally {
      for (KafkaShareConsumer<String, String> consumer : consumers) consumer.close(Duration.ofSeconds(5));
    }
  }
}
