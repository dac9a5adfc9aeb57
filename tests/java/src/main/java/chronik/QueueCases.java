package chronik;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
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
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Queues (KIP-932) through the Java KafkaShareConsumer: share.version turned on with the Admin client, the group
 * started at the earliest offset through its share.auto.offset.reset group config, then two share consumers on one
 * partition with explicit acknowledgement: every record accepted exactly once, a released record delivered again
 * (delivery count 2), a rejected one never again. Then, each on a group of its own: a record whose lock times out
 * (share.record.lock.duration.ms of 1 s, the broker started with group.share.min.record.lock.duration.ms=1000) goes
 * to another consumer; a record released every time is archived after group.share.delivery.count.limit (5)
 * deliveries; and the records of a consumer killed in another JVM (its TCP connections dropped, no leave) go to
 * another consumer.
 */
final class QueueCases {
  private QueueCases() {}

  static void register(Map<String, Main.Case> cases) {
    cases.put("share.queue", QueueCases::queue);
    cases.put("share.lock_timeout", QueueCases::lockTimeout);
    cases.put("share.delivery_limit", QueueCases::deliveryLimit);
    cases.put("share.killed_consumer", QueueCases::killedConsumer);
  }

  /** share.version on, the topic (one partition), the group's configs (share.auto.offset.reset=earliest and more). */
  static void setup(Env env, String topic, String group, Map<String, String> configs) throws Exception {
    try (Admin admin = Admin.create(env.base())) {
      admin.updateFeatures(
        Map.of("share.version", new FeatureUpdate((short) 1, FeatureUpdate.UpgradeType.UPGRADE)),
        new UpdateFeaturesOptions()
      ).all().get();
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
      List<AlterConfigOp> ops = new ArrayList<>();
      ops.add(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET));
      configs.forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
      admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, group), ops)).all().get();
    }
  }

  static void produce(Env env, String topic, List<String> values) throws Exception {
    Map<String, Object> pp = env.base();
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      for (String v : values) producer.send(new ProducerRecord<>(topic, v)).get();
    }
  }

  /** A share consumer with explicit acknowledgement, subscribed to the topic. */
  static KafkaShareConsumer<String, String> consumer(Map<String, Object> base, String group, String clientId,
      String topic) {
    Properties p = new Properties();
    p.putAll(base);
    p.put("group.id", group);
    p.put("client.id", clientId);
    p.put("share.acknowledgement.mode", "explicit");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(p);
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  /** The group's share-partition start offset of partition 0 (DescribeShareGroupOffsets). */
  static long startOffset(Env env, String group, String topic) throws Exception {
    try (Admin admin = Admin.create(env.base())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      var info = admin.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec().topicPartitions(List.of(tp))))
        .partitionsToOffsetInfo(group).get().get(tp);
      return info == null ? -1 : info.startOffset();
    }
  }

  /**
   * A's records are not acknowledged and A stops polling (its heartbeats go on, it stays a member): once their 1 s
   * lock expires they go to B, delivery count 2.
   */
  static void lockTimeout(Env env) throws Exception {
    String topic = env.name("queue-lock");
    String group = env.name("queue-lock-group");
    setup(env, topic, group, Map.of("share.record.lock.duration.ms", "1000"));
    produce(env, topic, List.of("l0", "l1", "l2"));
    try (KafkaShareConsumer<String, String> a = consumer(env.base(), group, env.name("lock-a"), topic);
        KafkaShareConsumer<String, String> b = consumer(env.base(), group, env.name("lock-b"), topic)) {
      Set<String> held = new HashSet<>();
      Env.until("A acquires records", () -> {
        a.poll(Duration.ofMillis(200)).forEach(r -> held.add(r.value()));
        return !held.isEmpty();
      });
      Map<String, Short> redelivered = new HashMap<>();
      Env.until(() -> "B gets A's records " + held + " after their lock expires, got " + redelivered, () -> {
        for (ConsumerRecord<String, String> r : b.poll(Duration.ofMillis(200))) {
          redelivered.put(r.value(), r.deliveryCount().orElse((short) 0));
          b.acknowledge(r, AcknowledgeType.ACCEPT);
        }
        b.commitSync();
        return redelivered.keySet().containsAll(held);
      });
      for (String v : held) Env.eq((short) 2, redelivered.get(v), "delivery count of " + v + " at B");
    }
  }

  /** A record released at every delivery is archived after group.share.delivery.count.limit (5) deliveries. */
  static void deliveryLimit(Env env) throws Exception {
    String topic = env.name("queue-limit");
    String group = env.name("queue-limit-group");
    setup(env, topic, group, Map.of());
    produce(env, topic, List.of("poison", "fine"));
    List<Short> counts = new ArrayList<>();
    try (KafkaShareConsumer<String, String> c = consumer(env.base(), group, env.name("limit"), topic)) {
      // Until the start offset passes both records: "fine" accepted, "poison" archived at the limit.
      Env.until(() -> "poison archived, delivered with counts " + counts, () -> {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          if (r.value().equals("poison")) {
            counts.add(r.deliveryCount().orElse((short) 0));
            c.acknowledge(r, AcknowledgeType.RELEASE);
          } else {
            c.acknowledge(r, AcknowledgeType.ACCEPT);
          }
        }
        c.commitSync();
        try {
          return startOffset(env, group, topic) == 2;
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
    }
    Env.eq(List.of((short) 1, (short) 2, (short) 3, (short) 4, (short) 5), counts, "deliveries of the released record");
  }

  /**
   * A consumer in another JVM acquires records and is killed (SIGKILL: its connections drop, it never leaves); the
   * records go to another consumer of the group, delivery count 2.
   */
  static void killedConsumer(Env env) throws Exception {
    String topic = env.name("queue-kill");
    String group = env.name("queue-kill-group");
    setup(env, topic, group, Map.of());
    List<String> values = new ArrayList<>();
    for (int i = 0; i < 10; i++) values.add("k" + i);
    produce(env, topic, values);
    Process victim = new ProcessBuilder(
      ProcessHandle.current().info().command().orElse("java"),
      "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m",
      "-cp", System.getProperty("java.class.path"),
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      "chronik.QueueCases", env.bootstrap, group, env.name("victim"), topic
    ).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    Set<String> held = new HashSet<>();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(victim.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      if (line == null || !line.startsWith("GOT ")) throw new AssertionError("the victim JVM printed " + line);
      held.addAll(List.of(line.substring(4).split(",")));
    } finally {
      victim.destroyForcibly();
      victim.waitFor();
    }
    Map<String, Short> got = new HashMap<>();
    try (KafkaShareConsumer<String, String> b = consumer(env.base(), group, env.name("survivor"), topic)) {
      Env.until(() -> "the survivor gets every record, got " + got, () -> {
        for (ConsumerRecord<String, String> r : b.poll(Duration.ofMillis(200))) {
          got.put(r.value(), r.deliveryCount().orElse((short) 0));
          b.acknowledge(r, AcknowledgeType.ACCEPT);
        }
        b.commitSync();
        return got.keySet().containsAll(values);
      });
    }
    for (String v : held) Env.eq((short) 2, got.get(v), "delivery count of " + v + " (held by the killed consumer)");
  }

  /** The victim of share.killed_consumer: {@code chronik.QueueCases <bootstrap> <group> <client id> <topic>}. */
  public static void main(String[] args) throws Exception {
    Map<String, Object> base = new HashMap<>();
    base.put("bootstrap.servers", args[0]);
    KafkaShareConsumer<String, String> c = consumer(base, args[1], args[2], args[3]);
    List<String> held = new ArrayList<>();
    long deadline = System.currentTimeMillis() + 60_000;
    while (held.isEmpty() && System.currentTimeMillis() < deadline) {
      c.poll(Duration.ofMillis(200)).forEach(r -> held.add(r.value()));
    }
    System.out.println("GOT " + String.join(",", held));
    System.out.flush();
    Thread.sleep(120_000); // holds its records, unacknowledged, until killed
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
