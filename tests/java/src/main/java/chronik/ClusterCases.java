package chronik;

import static chronik.Env.check;
import static chronik.Env.eq;
import static chronik.Env.until;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;

/**
 * kafka-clients against a cluster of brokers (tests/e2e/postgres_cluster_clients_test.ts; the bootstrap is every
 * broker's address, comma-separated). Not in {@code --list}: run by name only, against a cluster whose topics
 * {@code <run>-java} (6 partitions) and {@code <run>-java-txn} (3 partitions) exist with leaders on different brokers.
 */
final class ClusterCases {
  static final int PARTITIONS = 6;
  static final int RECORDS = 300;

  static Map<String, Main.Case> cases() {
    Map<String, Main.Case> cases = new LinkedHashMap<>();
    cases.put("cluster.describe", ClusterCases::describe);
    cases.put("cluster.kip848", ClusterCases::kip848);
    cases.put("cluster.transaction", ClusterCases::transaction);
    return cases;
  }

  static List<String> addresses(Env env) {
    return List.of(env.bootstrap.split(","));
  }

  /** Admin describeCluster names every broker, at the address it was reached by. */
  static void describe(Env env) throws Exception {
    try (Admin adm = env.admin()) {
      DescribeClusterResult r = adm.describeCluster();
      Set<String> hosts = new TreeSet<>();
      Set<Integer> ids = new TreeSet<>();
      for (Node n : r.nodes().get(30, TimeUnit.SECONDS)) {
        hosts.add(n.host() + ":" + n.port());
        ids.add(n.id());
      }
      eq(new TreeSet<>(addresses(env)), hosts, "brokers' addresses");
      eq(addresses(env).size(), ids.size(), "broker ids");
      check(r.clusterId().get(30, TimeUnit.SECONDS) != null, "a cluster id");
      check(ids.contains(r.controller().get(30, TimeUnit.SECONDS).id()), "the controller is one of the brokers");
    }
  }

  /** Distinct leaders of the topic's partitions. */
  static Set<Integer> leaders(Admin adm, String topic) throws Exception {
    TopicDescription d = adm.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
    Set<Integer> out = new HashSet<>();
    for (TopicPartitionInfo p : d.partitions()) out.add(p.leader().id());
    return out;
  }

  /**
   * Three KIP-848 members (group.protocol=consumer), each bootstrapped through a different broker, share the six
   * partitions; then an idempotent producer sends record i to partition i%6, each acknowledged at the next offset, and
   * the group reads each record once, in order per partition, and commits the log ends.
   */
  static void kip848(Env env) throws Exception {
    String topic = env.name("java");
    String group = env.name("java-group");
    try (Admin adm = env.admin()) {
      eq(Math.min(3, addresses(env).size()), leaders(adm, topic).size(), "brokers leading " + topic);
    }
    List<KafkaConsumer<String, String>> members = new ArrayList<>();
    Map<Integer, List<String>> read = new TreeMap<>();
    int[] total = {0};
    try {
      for (int m = 0; m < 3; m++) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, addresses(env).get(m % addresses(env).size()));
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        KafkaConsumer<String, String> c = env.consumer(p);
        c.subscribe(List.of(topic));
        members.add(c);
      }
      Runnable pollAll = () -> {
        for (KafkaConsumer<String, String> c : members) {
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(50))) {
            read.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
            total[0]++;
          }
        }
      };
      until(
        () -> "the partitions spread over the three members: " + assignments(members),
        () -> {
          pollAll.run();
          Set<TopicPartition> all = new HashSet<>();
          int sum = 0;
          for (KafkaConsumer<String, String> c : members) {
            if (c.assignment().isEmpty()) return false;
            all.addAll(c.assignment());
            sum += c.assignment().size();
          }
          return all.size() == PARTITIONS && sum == PARTITIONS;
        }
      );
      try (KafkaProducer<String, String> p = env.producer(Map.of())) {
        List<java.util.concurrent.Future<RecordMetadata>> acks = new ArrayList<>();
        for (int i = 0; i < RECORDS; i++) acks.add(p.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "j" + i)));
        p.flush();
        for (int i = 0; i < RECORDS; i++) {
          RecordMetadata md = acks.get(i).get(30, TimeUnit.SECONDS);
          eq((long) (i / PARTITIONS), md.offset(), "offset of record " + i + " in partition " + md.partition());
        }
      }
      until(() -> "the group read " + total[0] + " of " + RECORDS, () -> {
        pollAll.run();
        return total[0] >= RECORDS;
      });
      for (int i = 0; i < 4; i++) pollAll.run(); // a duplicate would arrive now: none may
      for (int p = 0; p < PARTITIONS; p++) {
        List<String> want = new ArrayList<>();
        for (int i = p; i < RECORDS; i += PARTITIONS) want.add("j" + i);
        eq(want, read.get(p), "records of partition " + p + " as the group read them");
      }
      try (Admin adm = env.admin()) {
        ConsumerGroupDescription d = adm.describeConsumerGroups(List.of(group)).describedGroups().get(group)
          .get(30, TimeUnit.SECONDS);
        eq(GroupType.CONSUMER, d.type(), "group type");
        eq(3, d.members().size(), "members");
      }
      for (KafkaConsumer<String, String> c : members) c.commitSync(Duration.ofSeconds(30));
      try (Admin adm = env.admin()) {
        Map<TopicPartition, OffsetAndMetadata> offs = adm.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
          .get(30, TimeUnit.SECONDS);
        for (int p = 0; p < PARTITIONS; p++) {
          OffsetAndMetadata o = offs.get(new TopicPartition(topic, p));
          eq((long) (RECORDS / PARTITIONS), o == null ? null : o.offset(), "committed offset of partition " + p);
        }
      }
    } finally {
      for (KafkaConsumer<String, String> c : members) c.close(Duration.ofSeconds(10));
    }
  }

  static String assignments(List<KafkaConsumer<String, String>> members) {
    List<String> out = new ArrayList<>();
    for (KafkaConsumer<String, String> c : members) out.add(c.assignment().toString());
    return out.toString();
  }

  /**
   * Transactions over three partitions led by three brokers: one commits (with the group offsets it sends), one
   * aborts, one commits; read_committed sees the committed records only, read_uncommitted all three, the group's
   * offsets are those of the committed transaction.
   */
  static void transaction(Env env) throws Exception {
    String topic = env.name("java-txn");
    String group = env.name("java-txn-group");
    String source = env.name("java");
    try (Admin adm = env.admin()) {
      eq(Math.min(3, addresses(env).size()), leaders(adm, topic).size(), "brokers leading " + topic);
    }
    Map<String, Object> pp = Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, env.name("java-txn"));
    try (KafkaProducer<String, String> p = env.producer(pp)) {
      p.initTransactions();
      String[] labels = {"c0", "a", "c1"};
      for (int t = 0; t < 3; t++) {
        p.beginTransaction();
        for (int part = 0; part < 3; part++) p.send(new ProducerRecord<>(topic, part, "k", labels[t] + "-" + part));
        Map<TopicPartition, OffsetAndMetadata> offs = new HashMap<>();
        offs.put(new TopicPartition(source, 0), new OffsetAndMetadata(10L * (t + 1)));
        p.sendOffsetsToTransaction(offs, new ConsumerGroupMetadata(group));
        p.flush(); // abortTransaction drops what it has not sent: the aborted records must be in the log
        if (labels[t].equals("a")) p.abortTransaction();
        else p.commitTransaction();
      }
    }
    for (String level : List.of("read_committed", "read_uncommitted")) {
      Map<Integer, List<String>> got = new TreeMap<>();
      for (ConsumerRecord<String, String> r : env.readAll(topic, level)) {
        got.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
      }
      for (int part = 0; part < 3; part++) {
        List<String> want = level.equals("read_committed")
          ? List.of("c0-" + part, "c1-" + part)
          : List.of("c0-" + part, "a-" + part, "c1-" + part);
        eq(want, got.get(part), level + " of partition " + part);
      }
    }
    try (Admin adm = env.admin()) {
      OffsetAndMetadata o = adm.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
        .get(30, TimeUnit.SECONDS).get(new TopicPartition(source, 0));
      eq(30L, o == null ? null : o.offset(), "the group offset sent with the last committed transaction");
    }
  }
}
