package chronik;

import static chronik.Env.check;
import static chronik.Env.eq;
import static chronik.Env.until;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/** kafka-clients: the producer, the consumer (classic and KIP-848) and transactions. */
final class ClientCases {
  static void register(Map<String, Main.Case> cases) {
    for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
      cases.put("producer.idempotent." + codec, env -> producerCodec(env, codec));
    }
    cases.put("consumer.classic.eager", env -> classicGroup(env, "eager", "org.apache.kafka.clients.consumer.RangeAssignor"));
    cases.put(
      "consumer.classic.cooperative-sticky",
      env -> classicGroup(env, "coop", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor")
    );
    cases.put("consumer.classic.static-membership", ClientCases::staticMembership);
    cases.put("consumer.kip848", ClientCases::kip848);
    cases.put("consumer.kip848.regex", ClientCases::kip848Regex);
    cases.put("transactions.consume-transform-produce", ClientCases::transactions);
  }

  static void producerCodec(Env env, String codec) throws Exception {
    String topic = env.name("codec-" + codec);
    env.createTopic(topic, 3);
    int n = 300;
    try (KafkaProducer<String, String> p = env.producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec))) {
      List<java.util.concurrent.Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        ProducerRecord<String, String> r = new ProducerRecord<>(topic, i % 3, "k" + i, i % 50 == 0 ? null : "value-" + i + "-" + "x".repeat(i % 40));
        r.headers().add("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
        acks.add(p.send(r));
      }
      p.flush();
      long[] next = new long[3];
      for (int i = 0; i < n; i++) {
        RecordMetadata md = acks.get(i).get(30, TimeUnit.SECONDS);
        eq(next[i % 3]++, md.offset(), "offset of record " + i);
      }
    }
    List<ConsumerRecord<String, String>> got = env.readAll(topic, "read_uncommitted");
    eq(n, got.size(), "records read back");
    Map<Integer, Long> lastOffset = new HashMap<>();
    for (ConsumerRecord<String, String> r : got) {
      Header h = r.headers().lastHeader("seq");
      int i = Integer.parseInt(new String(h.value(), StandardCharsets.UTF_8));
      eq("k" + i, r.key(), "key");
      eq(i % 50 == 0 ? null : "value-" + i + "-" + "x".repeat(i % 40), r.value(), "value of " + i);
      eq(i % 3, r.partition(), "partition of " + i);
      long prev = lastOffset.getOrDefault(r.partition(), -1L);
      eq(prev + 1, r.offset(), "dense offsets in partition " + r.partition());
      lastOffset.put(r.partition(), r.offset());
    }
  }

  static void produce(Env env, String topic, int n) throws Exception {
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
      p.flush();
    }
  }

  /** A member polling in its own thread until told to stop; commits what it read and closes. */
  static final class Member implements Runnable {
    final KafkaConsumer<String, String> consumer;
    final Set<String> seen;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicReference<Throwable> error = new AtomicReference<>();
    final Set<TopicPartition> assigned = ConcurrentHashMap.newKeySet();
    final List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    final Thread thread;
    final boolean closeAtEnd;
    final Object subscription;

    Member(KafkaConsumer<String, String> consumer, Set<String> seen, Object subscription, boolean closeAtEnd) {
      this.consumer = consumer;
      this.seen = seen;
      this.subscription = subscription;
      this.closeAtEnd = closeAtEnd;
      this.thread = new Thread(this);
      thread.start();
    }

    @SuppressWarnings("unchecked")
    public void run() {
      try {
        ConsumerRebalanceListener l = new ConsumerRebalanceListener() {
          public void onPartitionsRevoked(Collection<TopicPartition> ps) {
            events.add("revoked " + ps.size());
            commit();
            assigned.removeAll(ps);
          }

          public void onPartitionsAssigned(Collection<TopicPartition> ps) {
            events.add("assigned " + ps.size());
            assigned.addAll(ps);
          }

          public void onPartitionsLost(Collection<TopicPartition> ps) {
            events.add("lost " + ps.size());
            assigned.removeAll(ps);
          }
        };
        if (subscription instanceof SubscriptionPattern sp) consumer.subscribe(sp, l);
        else consumer.subscribe((Collection<String>) subscription, l);
        while (!stop.get()) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
            seen.add(r.topic() + "/" + r.value());
          }
          commit();
        }
      } catch (Throwable t) {
        error.set(t);
      } finally {
        if (closeAtEnd) consumer.close();
      }
    }

    /** A commit during a rebalance fails on the client's side (as against Kafka); the next poll commits. */
    void commit() {
      try {
        consumer.commitSync();
      } catch (org.apache.kafka.common.errors.RebalanceInProgressException
        | org.apache.kafka.clients.consumer.CommitFailedException e) {
        events.add("commit failed: " + e.getClass().getSimpleName());
      }
    }

    void finish() throws Exception {
      stop.set(true);
      thread.join(60_000);
      check(!thread.isAlive(), "member thread ended");
      if (error.get() != null) throw new AssertionError("member failed", error.get());
    }
  }

  static Set<String> expected(String topic, int n) {
    Set<String> s = new HashSet<>();
    for (int i = 0; i < n; i++) s.add(topic + "/v" + i);
    return s;
  }

  static Map<String, Object> groupProps(String group, Map<String, Object> extra) {
    Map<String, Object> p = new HashMap<>(extra);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    return p;
  }

  static long committedTotal(Env env, String group) throws Exception {
    try (Admin a = env.admin()) {
      return a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).values().stream()
        .mapToLong(OffsetAndMetadata::offset).sum();
    }
  }

  /** Two classic members share four partitions; the first reads alone, the second joins (a rebalance). */
  static void classicGroup(Env env, String tag, String assignor) throws Exception {
    String topic = env.name("classic-" + tag);
    String group = env.name("g-classic-" + tag);
    env.createTopic(topic, 4);
    produce(env, topic, 200);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Map<String, Object> props = groupProps(group, Map.of(
      ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor,
      ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic"
    ));
    Member a = new Member(env.consumer(props), seen, List.of(topic), true);
    until("first member owns all 4 partitions", () -> a.assigned.size() == 4);
    Member b = new Member(env.consumer(props), seen, List.of(topic), true);
    until(() -> "both members own two partitions (a: " + a.events + ", b: " + b.events + ")", () -> a.assigned.size() == 2 && b.assigned.size() == 2);
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      for (int i = 200; i < 400; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
    }
    until("all 400 records consumed", () -> seen.containsAll(expected(topic, 400)));
    try (Admin adm = env.admin()) {
      ConsumerGroupDescription d = adm.describeConsumerGroups(List.of(group)).describedGroups().get(group)
        .get(30, TimeUnit.SECONDS);
      eq(GroupType.CLASSIC, d.type(), "group type");
      eq(2, d.members().size(), "members");
      String expectedAssignor = assignor.endsWith("RangeAssignor") ? "range" : "cooperative-sticky";
      eq(expectedAssignor, d.partitionAssignor(), "assignor");
    }
    a.finish();
    b.finish();
    eq(400L, committedTotal(env, group), "committed offsets");
    if (assignor.contains("Cooperative")) {
      // Cooperative: the first member gives up two partitions without revoking all four.
      check(!a.events.contains("revoked 4"), "cooperative rebalance revoked only what moved: " + a.events);
    } else {
      check(a.events.contains("revoked 4"), "eager rebalance revoked everything: " + a.events);
    }
  }

  /** Static members (group.instance.id): a restarted member gets its partitions back and resumes. */
  static void staticMembership(Env env) throws Exception {
    String topic = env.name("static");
    String group = env.name("g-static");
    env.createTopic(topic, 2);
    produce(env, topic, 100);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Map<String, Object> base = Map.of(
      ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic",
      ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30000
    );
    Map<String, Object> pa = new HashMap<>(groupProps(group, base));
    pa.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-a");
    Map<String, Object> pb = new HashMap<>(groupProps(group, base));
    pb.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "instance-b");
    Member a = new Member(env.consumer(pa), seen, List.of(topic), true);
    Member b = new Member(env.consumer(pb), seen, List.of(topic), true);
    until("each static member owns one partition", () -> a.assigned.size() == 1 && b.assigned.size() == 1);
    until("100 records consumed", () -> seen.containsAll(expected(topic, 100)));
    Set<TopicPartition> aOwned = new HashSet<>(a.assigned);
    try (Admin adm = env.admin()) {
      ConsumerGroupDescription d = adm.describeConsumerGroups(List.of(group)).describedGroups().get(group)
        .get(30, TimeUnit.SECONDS);
      Set<String> ids = new HashSet<>();
      for (MemberDescription m : d.members()) ids.add(m.groupInstanceId().orElse("-"));
      eq(Set.of("instance-a", "instance-b"), ids, "group.instance.id of the members");
    }
    a.finish(); // a static member closing does not leave the group (no rebalance for b)
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      for (int i = 100; i < 200; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
    }
    Member a2 = new Member(env.consumer(pa), seen, List.of(topic), true);
    until("restarted instance-a owns its partition again", () -> a2.assigned.equals(aOwned));
    until("200 records consumed", () -> seen.containsAll(expected(topic, 200)));
    check(!b.events.contains("revoked 1") && !b.events.contains("lost 1"), "b kept its partition: " + b.events);
    a2.finish();
    b.finish();
    eq(200L, committedTotal(env, group), "committed offsets");
  }

  /** KIP-848: group.protocol=consumer, the server assigns; two members share the partitions. */
  static void kip848(Env env) throws Exception {
    String topic = env.name("kip848");
    String group = env.name("g-kip848");
    env.createTopic(topic, 4);
    produce(env, topic, 200);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Map<String, Object> props = groupProps(group, Map.of(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer"));
    Member a = new Member(env.consumer(props), seen, List.of(topic), true);
    until("first member owns all 4 partitions", () -> a.assigned.size() == 4);
    Member b = new Member(env.consumer(props), seen, List.of(topic), true);
    until(() -> "both members own two partitions (a: " + a.events + ", b: " + b.events + ")", () -> a.assigned.size() == 2 && b.assigned.size() == 2);
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      for (int i = 200; i < 400; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
    }
    until("all 400 records consumed", () -> seen.containsAll(expected(topic, 400)));
    try (Admin adm = env.admin()) {
      ConsumerGroupDescription d = adm.describeConsumerGroups(List.of(group)).describedGroups().get(group)
        .get(30, TimeUnit.SECONDS);
      eq(GroupType.CONSUMER, d.type(), "group type");
      eq(2, d.members().size(), "members");
    }
    a.finish();
    b.finish();
    eq(400L, committedTotal(env, group), "committed offsets");
  }

  /** KIP-848 regex subscription (RE2J, resolved by the broker): topics created later join the subscription. */
  static void kip848Regex(Env env) throws Exception {
    String prefix = env.name("rx");
    env.createTopic(prefix + "-one", 2);
    produce(env, prefix + "-one", 50);
    env.createTopic(env.name("other-rx"), 1);
    produce(env, env.name("other-rx"), 5);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    Map<String, Object> props = groupProps(env.name("g-rx"), Map.of(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer"));
    Member a = new Member(env.consumer(props), seen, new SubscriptionPattern(prefix + "-.*"), true);
    until("records of " + prefix + "-one consumed", () -> seen.containsAll(expected(prefix + "-one", 50)));
    env.createTopic(prefix + "-two", 2);
    produce(env, prefix + "-two", 50);
    until("a topic created later is consumed", () -> seen.containsAll(expected(prefix + "-two", 50)));
    a.finish();
    for (String s : seen) check(s.startsWith(prefix + "-"), "only matching topics consumed: " + s);
    eq(100, seen.size(), "records consumed");
  }

  /**
   * Consume-transform-produce with sendOffsetsToTransaction: one aborted and one committed transaction;
   * read_committed consumers see only the committed output, read_uncommitted sees both, the group's offsets move
   * only with the commit.
   */
  static void transactions(Env env) throws Exception {
    String in = env.name("txn-in");
    String out = env.name("txn-out");
    String group = env.name("g-txn");
    env.createTopic(in, 2);
    env.createTopic(out, 2);
    produce(env, in, 100);
    Map<String, Object> pp = Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, env.name("txn-ctp"));
    Map<String, Object> cp = groupProps(group, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
    try (KafkaProducer<String, String> p = env.producer(pp); KafkaConsumer<String, String> c = env.consumer(cp)) {
      p.initTransactions();
      c.subscribe(List.of(in));
      List<ConsumerRecord<String, String>> batch = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (batch.size() < 100) {
        if (System.nanoTime() > deadline) throw new AssertionError("read only " + batch.size() + " of 100");
        c.poll(Duration.ofMillis(200)).forEach(batch::add);
      }
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
      for (ConsumerRecord<String, String> r : batch) {
        offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
      }
      // First attempt: aborted.
      p.beginTransaction();
      for (ConsumerRecord<String, String> r : batch) p.send(new ProducerRecord<>(out, r.key(), "aborted-" + r.value()));
      p.sendOffsetsToTransaction(offsets, c.groupMetadata());
      p.flush(); // abortTransaction drops what is not yet sent; the aborted records must reach the log to be hidden
      p.abortTransaction();
      eq(0L, committedTotal(env, group), "offsets after the abort");
      // Second attempt: committed.
      p.beginTransaction();
      for (ConsumerRecord<String, String> r : batch) p.send(new ProducerRecord<>(out, r.key(), "done-" + r.value()));
      p.sendOffsetsToTransaction(offsets, c.groupMetadata());
      p.commitTransaction();
    }
    eq(100L, committedTotal(env, group), "offsets after the commit");
    List<ConsumerRecord<String, String>> committed = env.readAll(out, "read_committed");
    eq(100, committed.size(), "read_committed records");
    for (ConsumerRecord<String, String> r : committed) check(r.value().startsWith("done-"), "committed value " + r.value());
    List<ConsumerRecord<String, String>> all = env.readAll(out, "read_uncommitted");
    eq(200, all.size(), "read_uncommitted records (aborted ones included, markers not)");
  }
}
