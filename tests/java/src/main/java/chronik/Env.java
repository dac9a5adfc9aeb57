package chronik;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** The broker address and small helpers shared by the cases. */
public final class Env {
  public final String bootstrap;
  /** Prefix for topic, group and transactional ids, so a rerun against the same broker does not collide. */
  public final String run;

  Env(String bootstrap, String run) {
    this.bootstrap = bootstrap;
    this.run = run;
  }

  public String name(String base) {
    return run + "-" + base;
  }

  public Map<String, Object> base() {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", bootstrap);
    return p;
  }

  public Admin admin() {
    return Admin.create(base());
  }

  public KafkaProducer<String, String> producer(Map<String, Object> extra) {
    Map<String, Object> p = base();
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.putAll(extra);
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  public KafkaConsumer<String, String> consumer(Map<String, Object> extra) {
    Map<String, Object> p = base();
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.putAll(extra);
    return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
  }

  public void createTopic(String topic, int partitions) throws Exception {
    try (Admin a = admin()) {
      a.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
  }

  /** Reads every partition of the topic from the beginning up to its end offsets (read_committed or not). */
  public List<ConsumerRecord<String, String>> readAll(String topic, String isolation) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = consumer(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      c.partitionsFor(topic, Duration.ofSeconds(30)).forEach(pi -> tps.add(new TopicPartition(topic, pi.partition())));
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        boolean done = true;
        for (TopicPartition tp : tps) if (c.position(tp, Duration.ofSeconds(30)) < end.get(tp)) done = false;
        if (done) break;
        if (System.nanoTime() > deadline) throw new AssertionError("readAll " + topic + " did not reach " + end);
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }

  public static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  public static void eq(Object expected, Object actual, String what) {
    if (expected == null ? actual != null : !expected.equals(actual)) {
      throw new AssertionError(what + ": expected <" + expected + "> but was <" + actual + ">");
    }
  }

  /** Polls a condition until it holds, bounded (no timing is asserted: the bound only ends a hung case). */
  public static void until(String what, BooleanSupplier cond) throws InterruptedException {
    until(() -> what, cond);
  }

  public static void until(java.util.function.Supplier<String> what, BooleanSupplier cond)
    throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("never happened: " + what.get());
      Thread.sleep(50);
    }
  }

  public static Properties props(Map<String, Object> m) {
    Properties p = new Properties();
    p.putAll(m);
    return p;
  }
}
