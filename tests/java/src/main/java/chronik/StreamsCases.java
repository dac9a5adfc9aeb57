package chronik;

import static chronik.Env.check;
import static chronik.Env.eq;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;

/**
 * Kafka Streams with exactly_once_v2, shaped like a ksqlDB persistent query: a stream-table join (page views
 * enriched with the user's region), re-keyed by region (a repartition topic), counted in one-minute tumbling windows
 * (a windowed state store with its changelog). With caching off every update is emitted, so read_committed output
 * must hold, per region and window, exactly the counts 1, 2, ..., n: a lost, duplicated or aborted update shows.
 */
final class StreamsCases {
  static void register(Map<String, Main.Case> cases) {
    cases.put("streams.eos-v2.join-windowed-count", env -> joinWindowedCount(env, false));
    cases.put("restart.streams.eos-v2.join-windowed-count", env -> joinWindowedCount(env, true));
  }

  /**
   * With {@code restart}, the case prints {@code PHASE midway} once part of the output is committed and expects the
   * test to restart the broker (same port, same data) then; the results must be just as exact.
   */
  static void joinWindowedCount(Env env, boolean restart) throws Exception {
    String app = env.name("streams-app");
    String views = env.name("st-pageviews");
    String users = env.name("st-users");
    String out = env.name("st-counts");
    env.createTopic(views, 1);
    env.createTopic(users, 1);
    env.createTopic(out, 2);
    long base = 1_700_000_040_000L - (1_700_000_040_000L % 60_000);
    Map<String, String> region = new HashMap<>();
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      for (int u = 0; u < 10; u++) {
        region.put("u" + u, "region-" + (u % 3));
        p.send(new ProducerRecord<>(users, 0, base - 60_000, "u" + u, "region-" + (u % 3)));
      }
      p.flush();
      // With a restart, the second half of the input is produced after it (the producer retries through it).
      for (int i = 0; i < (restart ? 150 : 300); i++) {
        p.send(new ProducerRecord<>(views, 0, base + i * 1000L, "u" + (i % 10), "/page/" + i));
      }
    }
    Map<String, Long> expected = new TreeMap<>();
    for (int i = 0; i < 300; i++) {
      long ts = base + i * 1000L;
      String key = region.get("u" + (i % 10)) + "@" + (ts - ts % 60_000);
      expected.merge(key, 1L, Long::sum);
    }

    StreamsBuilder b = new StreamsBuilder();
    KTable<String, String> userRegions = b.table(users, Consumed.with(Serdes.String(), Serdes.String()),
      Materialized.as("user-regions"));
    KStream<String, String> pageViews = b.stream(views, Consumed.with(Serdes.String(), Serdes.String()));
    pageViews
      .join(userRegions, (page, reg) -> reg)
      .groupBy((user, reg) -> reg, Grouped.with("by-region", Serdes.String(), Serdes.String()))
      .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofMinutes(10)))
      .count(Materialized.as("views-per-region"))
      .toStream()
      .map((w, n) -> KeyValue.pair(w.key() + "@" + w.window().start(), Long.toString(n)))
      .to(out, Produced.with(Serdes.String(), Serdes.String()));

    Path stateDir = Files.createTempDirectory("chronik-streams");
    Map<String, Object> props = new HashMap<>();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, 2000);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    if (restart) props.put(StreamsConfig.producerPrefix("transaction.timeout.ms"), 20000);
    KafkaStreams streams = new KafkaStreams(b.build(), Env.props(props));
    List<Throwable> errors = new ArrayList<>();
    streams.setUncaughtExceptionHandler(e -> {
      errors.add(e);
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
        .SHUTDOWN_CLIENT;
    });
    Map<String, List<Long>> got = new TreeMap<>();
    try {
      streams.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(restart ? 240 : 120);
      boolean midway = !restart;
      while (true) {
        got.clear();
        List<ConsumerRecord<String, String>> rs;
        try {
          rs = env.readAll(out, "read_committed");
        } catch (RuntimeException | AssertionError e) {
          if (!restart || System.nanoTime() > deadline) throw e;
          System.err.println("read during the restart: " + e);
          continue; // the broker is being restarted
        }
        for (ConsumerRecord<String, String> r : rs) {
          got.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(Long.parseLong(r.value()));
        }
        if (!midway && rs.size() >= 60) {
          midway = true;
          System.out.println("PHASE midway");
          System.out.flush();
          try (KafkaProducer<String, String> p = env.producer(Map.of("max.block.ms", 120000,
            "delivery.timeout.ms", 120000))) {
            for (int i = 150; i < 300; i++) {
              p.send(new ProducerRecord<>(views, 0, base + i * 1000L, "u" + (i % 10), "/page/" + i));
            }
            p.flush();
          }
        }
        Map<String, Long> last = new TreeMap<>();
        got.forEach((k, v) -> last.put(k, v.get(v.size() - 1)));
        if (last.equals(expected)) break;
        if (!errors.isEmpty()) throw new AssertionError("streams failed", errors.get(0));
        if (System.nanoTime() > deadline) throw new AssertionError("final counts " + last + " != " + expected);
        Thread.sleep(500);
      }
    } finally {
      streams.close(Duration.ofSeconds(30));
      streams.cleanUp();
    }
    for (Map.Entry<String, List<Long>> e : got.entrySet()) {
      List<Long> seq = new ArrayList<>();
      for (long i = 1; i <= expected.get(e.getKey()); i++) seq.add(i);
      eq(seq, e.getValue(), "every update exactly once for " + e.getKey());
    }
    try (Admin a = env.admin()) {
      Set<String> names = a.listTopics().names().get(30, TimeUnit.SECONDS);
      check(names.contains(app + "-by-region-repartition"), "repartition topic: " + names);
      check(names.contains(app + "-views-per-region-changelog"), "windowed store changelog: " + names);
      var groups = a.listGroups().all().get(30, TimeUnit.SECONDS);
      check(groups.stream().anyMatch(g -> g.groupId().equals(app)), "the application's consumer group");
    }
    try (var walk = Files.walk(stateDir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
