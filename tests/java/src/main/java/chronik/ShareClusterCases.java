package chronik;

import static chronik.Env.eq;
import static chronik.Env.until;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;

/**
 * KafkaShareConsumer (KIP-932) against a cluster of brokers (tests/e2e/postgres_share_cluster_test.ts; the bootstrap is
 * every broker's address, comma-separated). Not in {@code --list}: run by name only, against a cluster with share.version
 * 1 finalized on every broker and a topic {@code <run>-share} of six partitions led by different brokers.
 */
final class ShareClusterCases {
  static final int PARTITIONS = 6;
  static final int RECORDS = 300;

  static Map<String, Main.Case> cases() {
    Map<String, Main.Case> cases = new LinkedHashMap<>();
    cases.put("cluster.share", ShareClusterCases::share);
    return cases;
  }

  /**
   * Two share consumers of one group, each bootstrapped through a different broker, with explicit acknowledgement: the
   * group's coordinator hands out the partitions, each consumer fetches from their leaders, and together they accept
   * every record of the six partitions exactly once.
   */
  static void share(Env env) throws Exception {
    String topic = env.name("share");
    String group = env.name("share-group");
    List<String> addresses = ClusterCases.addresses(env);
    try (Admin adm = env.admin()) {
      eq(Math.min(3, addresses.size()), ClusterCases.leaders(adm, topic).size(), "brokers leading " + topic);
      adm.incrementalAlterConfigs(Map.of(
        new ConfigResource(ConfigResource.Type.GROUP, group),
        List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET))
      )).all().get(30, TimeUnit.SECONDS);
    }
    try (var p = env.producer(Map.of())) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < RECORDS; i++) acks.add(p.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "s" + i)));
      p.flush();
      for (Future<RecordMetadata> f : acks) f.get(30, TimeUnit.SECONDS);
    }
    List<KafkaShareConsumer<String, String>> consumers = new ArrayList<>();
    Map<String, Integer> accepted = new HashMap<>();
    try {
      for (int c = 0; c < 2; c++) {
        Map<String, Object> base = new HashMap<>(env.base());
        base.put("bootstrap.servers", addresses.get(c % addresses.size()));
        consumers.add(QueueCases.consumer(base, group, env.name("share-" + c), topic));
      }
      Runnable pollAll = () -> {
        for (KafkaShareConsumer<String, String> c : consumers) {
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
            accepted.merge(r.value(), 1, Integer::sum);
            c.acknowledge(r, AcknowledgeType.ACCEPT);
          }
          c.commitSync(Duration.ofSeconds(30)).forEach((tp, e) -> {
            if (e.isPresent()) throw new AssertionError("acknowledging " + tp + ": " + e.get());
          });
        }
      };
      until(() -> "the group accepted " + accepted.size() + " of " + RECORDS, () -> {
        pollAll.run();
        return accepted.size() >= RECORDS;
      });
      for (int i = 0; i < 5; i++) pollAll.run(); // a redelivery would arrive now: none may
      TreeSet<String> want = new TreeSet<>();
      for (int i = 0; i < RECORDS; i++) want.add("s" + i);
      eq(want, new TreeSet<>(accepted.keySet()), "records accepted");
      for (Map.Entry<String, Integer> e : accepted.entrySet()) eq(1, e.getValue(), "deliveries of " + e.getKey());
    } finally {
      for (KafkaShareConsumer<String, String> c : consumers) c.close(Duration.ofSeconds(5));
    }
  }
}
