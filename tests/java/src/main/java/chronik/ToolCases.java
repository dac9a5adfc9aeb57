package chronik;

import static chronik.Env.check;
import static chronik.Env.eq;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.internals.Exit;

/**
 * Kafka's own command-line tools, run by their main classes (what bin/kafka-*.sh runs) inside this JVM: their
 * Exit calls are caught and their standard output captured.
 */
final class ToolCases {
  static void register(Map<String, Main.Case> cases) {
    cases.put("tools.kafka-topics", ToolCases::topics);
    cases.put("tools.kafka-configs", ToolCases::configs);
    cases.put("tools.kafka-consumer-groups", ToolCases::consumerGroups);
    cases.put("tools.kafka-acls", ToolCases::acls);
    cases.put("tools.kafka-transactions", ToolCases::transactions);
    cases.put("tools.kafka-get-offsets", ToolCases::getOffsets);
    cases.put("tools.kafka-delete-records", ToolCases::deleteRecords);
    cases.put("tools.kafka-features", ToolCases::features);
    cases.put("tools.kafka-cluster", ToolCases::cluster);
    cases.put("tools.kafka-producer-perf-test+consumer-perf-test", ToolCases::perf);
  }

  static final class ExitCalled extends RuntimeException {
    final int code;

    ExitCalled(int code) {
      super("exit " + code);
      this.code = code;
    }
  }

  record Result(int code, String out) {}

  /** Runs a tool's main class; fails unless it exits 0 (or returns normally). */
  static String tool(String mainClass, String... args) throws Exception {
    Result r = toolResult(mainClass, args);
    if (r.code != 0) throw new AssertionError(mainClass + " " + String.join(" ", args) + " exited " + r.code + ":\n" + r.out);
    return r.out;
  }

  static synchronized Result toolResult(String mainClass, String... args) throws Exception {
    PrintStream oldOut = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8);
    // Exit(0) is a tool's last statement: noted, and the tool returns. Any other code ends the tool here.
    int[] exited = {0};
    Exit.setExitProcedure((code, msg) -> {
      exited[0] = code;
      if (code != 0) throw new ExitCalled(code);
    });
    int code = 0;
    System.setOut(capture);
    try {
      Class.forName(mainClass).getMethod("main", String[].class).invoke(null, (Object) args);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof ExitCalled x) code = x.code;
      else throw e;
    } catch (ExitCalled x) {
      code = x.code;
    } finally {
      System.out.flush();
      System.setOut(oldOut);
      Exit.resetExitProcedure();
    }
    if (code == 0) code = exited[0];
    String out = buf.toString(StandardCharsets.UTF_8);
    System.err.println("$ " + mainClass + " " + String.join(" ", args) + " -> " + code + "\n" + out);
    return new Result(code, out);
  }

  static void topics(Env env) throws Exception {
    String c = "org.apache.kafka.tools.TopicCommand";
    String t = env.name("tool-topic");
    String b = env.bootstrap;
    tool(c, "--bootstrap-server", b, "--create", "--topic", t, "--partitions", "3", "--replication-factor", "1",
      "--config", "retention.ms=100000");
    check(tool(c, "--bootstrap-server", b, "--list").lines().anyMatch(t::equals), "--list shows the topic");
    String d = tool(c, "--bootstrap-server", b, "--describe", "--topic", t);
    check(d.contains("PartitionCount: 3") && d.contains("retention.ms=100000"), "--describe: " + d);
    tool(c, "--bootstrap-server", b, "--alter", "--topic", t, "--partitions", "5");
    d = tool(c, "--bootstrap-server", b, "--describe", "--topic", t);
    check(d.contains("PartitionCount: 5"), "--describe after --alter: " + d);
    Result bad = toolResult(c, "--bootstrap-server", b, "--alter", "--topic", t, "--partitions", "2");
    check(bad.code != 0, "decreasing partitions fails");
    tool(c, "--bootstrap-server", b, "--delete", "--topic", t);
    check(tool(c, "--bootstrap-server", b, "--list").lines().noneMatch(t::equals), "deleted");
  }

  static void configs(Env env) throws Exception {
    String c = "org.apache.kafka.tools.ConfigCommand";
    String t = env.name("tool-configs");
    String b = env.bootstrap;
    env.createTopic(t, 1);
    tool(c, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name", t, "--alter", "--add-config",
      "retention.ms=1000,max.message.bytes=2000");
    String d = tool(c, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name", t, "--describe");
    check(d.contains("retention.ms=1000") && d.contains("max.message.bytes=2000"), "--describe: " + d);
    tool(c, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name", t, "--alter", "--delete-config",
      "retention.ms");
    d = tool(c, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name", t, "--describe");
    check(!d.contains("retention.ms=1000") && d.contains("max.message.bytes=2000"), "after --delete-config: " + d);
    d = tool(c, "--bootstrap-server", b, "--entity-type", "brokers", "--entity-name", "0", "--describe", "--all");
    check(d.contains("num.partitions="), "broker --describe --all: " + d.substring(0, Math.min(d.length(), 400)));
    tool(c, "--bootstrap-server", b, "--entity-type", "brokers", "--entity-default", "--alter", "--add-config",
      "log.cleaner.threads=2");
    d = tool(c, "--bootstrap-server", b, "--entity-type", "brokers", "--entity-default", "--describe");
    check(d.contains("log.cleaner.threads=2"), "cluster default: " + d);
    tool(c, "--bootstrap-server", b, "--entity-type", "brokers", "--entity-default", "--alter", "--delete-config",
      "log.cleaner.threads");
    String user = env.name("tool-user");
    tool(c, "--bootstrap-server", b, "--entity-type", "users", "--entity-name", user, "--alter", "--add-config",
      "SCRAM-SHA-256=[iterations=8192,password=alice-secret]");
    d = tool(c, "--bootstrap-server", b, "--entity-type", "users", "--entity-name", user, "--describe");
    check(d.contains("SCRAM-SHA-256=iterations=8192"), "SCRAM user: " + d);
    tool(c, "--bootstrap-server", b, "--entity-type", "users", "--entity-name", user, "--entity-type", "clients",
      "--entity-name", "app", "--alter", "--add-config", "producer_byte_rate=1048576");
    d = tool(c, "--bootstrap-server", b, "--entity-type", "users", "--entity-name", user, "--entity-type", "clients",
      "--entity-name", "app", "--describe");
    check(d.contains("producer_byte_rate=1048576"), "client quota: " + d);
  }

  static void produce(Env env, String topic, int partition, int n) throws Exception {
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(topic, partition, "k" + i, "v" + i));
      p.flush();
    }
  }

  static void consumerGroups(Env env) throws Exception {
    String c = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";
    String t = env.name("tool-groups");
    String g = env.name("g-tool");
    String b = env.bootstrap;
    env.createTopic(t, 1);
    produce(env, t, 0, 10);
    try (KafkaConsumer<String, String> con = env.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, g))) {
      con.subscribe(List.of(t));
      int n = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (n < 10 && System.nanoTime() < deadline) n += con.poll(Duration.ofMillis(200)).count();
      eq(10, n, "consumed");
      con.commitSync();
      String d = tool(c, "--bootstrap-server", b, "--describe", "--group", g);
      check(d.contains(t) && d.contains("consumer-" + g), "--describe while active: " + d);
    }
    check(tool(c, "--bootstrap-server", b, "--list").lines().anyMatch(g::equals), "--list has the group");
    String d = tool(c, "--bootstrap-server", b, "--describe", "--group", g, "--offsets");
    String row = d.lines().filter(l -> l.contains(t)).findFirst().orElse("");
    check(row.matches(".*\\s10\\s+10\\s+0\\s.*"), "CURRENT-OFFSET 10, LOG-END-OFFSET 10, LAG 0: " + d);
    String plan = tool(c, "--bootstrap-server", b, "--reset-offsets", "--group", g, "--topic", t, "--to-earliest",
      "--dry-run");
    check(plan.lines().anyMatch(l -> l.contains(t) && l.trim().endsWith("0")), "--dry-run plan: " + plan);
    tool(c, "--bootstrap-server", b, "--reset-offsets", "--group", g, "--topic", t + ":0", "--to-offset", "4",
      "--execute");
    try (Admin a = env.admin()) {
      var o = a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
      eq(4L, o.get(new TopicPartition(t, 0)).offset(), "offset after --reset-offsets --to-offset 4");
    }
    tool(c, "--bootstrap-server", b, "--reset-offsets", "--group", g, "--all-topics", "--shift-by", "-2",
      "--execute");
    d = tool(c, "--bootstrap-server", b, "--describe", "--group", g, "--offsets");
    row = d.lines().filter(l -> l.contains(t)).findFirst().orElse("");
    check(row.matches(".*\\s2\\s+10\\s+8\\s.*"), "after --shift-by -2: " + d);
    tool(c, "--bootstrap-server", b, "--delete-offsets", "--group", g, "--topic", t);
    tool(c, "--bootstrap-server", b, "--delete", "--group", g);
    check(tool(c, "--bootstrap-server", b, "--list").lines().noneMatch(g::equals), "group deleted");
  }

  static void acls(Env env) throws Exception {
    String c = "org.apache.kafka.tools.AclCommand";
    String t = env.name("tool-acl");
    String b = env.bootstrap;
    tool(c, "--bootstrap-server", b, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--operation",
      "Describe", "--topic", t);
    tool(c, "--bootstrap-server", b, "--add", "--allow-principal", "User:alice", "--consumer", "--topic", t + "-p",
      "--resource-pattern-type", "prefixed", "--group", "*");
    String l = tool(c, "--bootstrap-server", b, "--list", "--topic", t);
    check(l.contains("User:alice") && l.contains("READ") && l.contains("DESCRIBE"), "--list: " + l);
    l = tool(c, "--bootstrap-server", b, "--list", "--principal", "User:alice");
    check(l.contains("PREFIXED") && l.contains("name=*"), "--list --principal: " + l);
    tool(c, "--bootstrap-server", b, "--remove", "--force", "--allow-principal", "User:alice", "--operation", "Read",
      "--topic", t);
    l = tool(c, "--bootstrap-server", b, "--list", "--topic", t);
    check(!l.contains("READ") && l.contains("DESCRIBE"), "after --remove: " + l);
    tool(c, "--bootstrap-server", b, "--remove", "--force", "--allow-principal", "User:alice", "--consumer", "--topic",
      t + "-p", "--resource-pattern-type", "prefixed", "--group", "*");
    l = tool(c, "--bootstrap-server", b, "--list", "--principal", "User:alice");
    check(!l.contains("name=" + t + "-p,"), "prefixed ACLs removed: " + l);
  }

  static void transactions(Env env) throws Exception {
    String c = "org.apache.kafka.tools.TransactionsCommand";
    String t = env.name("tool-txn");
    String id = env.name("tool-txn-id");
    String b = env.bootstrap;
    env.createTopic(t, 1);
    KafkaProducer<String, String> p = env.producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id));
    try {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>(t, 0, "k", "v")).get(30, TimeUnit.SECONDS);
      String l = tool(c, "--bootstrap-server", b, "list");
      check(l.lines().anyMatch(x -> x.contains(id) && x.contains("Ongoing")), "list: " + l);
      String d = tool(c, "--bootstrap-server", b, "describe", "--transactional-id", id);
      check(d.contains("Ongoing") && d.contains(t + "-0"), "describe: " + d);
      String dp = tool(c, "--bootstrap-server", b, "describe-producers", "--topic", t, "--partition", "0");
      check(dp.lines().count() >= 2, "describe-producers: " + dp);
      String fh = tool(c, "--bootstrap-server", b, "find-hanging", "--broker-id", "0", "--max-transaction-timeout",
        "0");
      System.err.println(fh);
      tool(c, "--bootstrap-server", b, "abort", "--topic", t, "--partition", "0", "--start-offset", "0");
      try (Admin a = env.admin()) {
        var lso = a.listOffsets(Map.of(new TopicPartition(t, 0), OffsetSpec.latest()),
          new org.apache.kafka.clients.admin.ListOffsetsOptions(org.apache.kafka.common.IsolationLevel.READ_COMMITTED))
          .all().get(30, TimeUnit.SECONDS);
        eq(2L, lso.get(new TopicPartition(t, 0)).offset(), "last stable offset after abort");
      }
    } finally {
      p.close(Duration.ofSeconds(5));
    }
  }

  static void getOffsets(Env env) throws Exception {
    String c = "org.apache.kafka.tools.GetOffsetShell";
    String t = env.name("tool-offsets");
    String b = env.bootstrap;
    env.createTopic(t, 2);
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      long base = 1_700_000_000_000L;
      long[] ts = {base + 5, base + 9, base + 1};
      for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>(t, 0, ts[i], "k", "v" + i));
      p.send(new ProducerRecord<>(t, 1, base, "k", "only"));
    }
    eq(List.of(t + ":0:3", t + ":1:1"), tool(c, "--bootstrap-server", b, "--topic", t).lines().sorted().toList(),
      "latest");
    eq(List.of(t + ":0:0", t + ":1:0"), tool(c, "--bootstrap-server", b, "--topic", t, "--time", "-2").lines().sorted()
      .toList(), "earliest");
    eq(List.of(t + ":0:1", t + ":1:0"), tool(c, "--bootstrap-server", b, "--topic", t, "--time", "-3").lines().sorted()
      .toList(), "max timestamp");
    eq(List.of(t + ":0:1"), tool(c, "--bootstrap-server", b, "--topic-partitions", t + ":0", "--time",
      Long.toString(1_700_000_000_000L + 6)).lines().toList(), "by timestamp");
  }

  static void deleteRecords(Env env) throws Exception {
    String t = env.name("tool-delrec");
    env.createTopic(t, 1);
    produce(env, t, 0, 6);
    Path f = Files.createTempFile("chronik-delete-records", ".json");
    Files.writeString(f, "{\"partitions\":[{\"topic\":\"" + t + "\",\"partition\":0,\"offset\":4}],\"version\":1}");
    String out = tool("org.apache.kafka.tools.DeleteRecordsCommand", "--bootstrap-server", env.bootstrap,
      "--offset-json-file", f.toString());
    Files.delete(f);
    check(out.contains("low_watermark: 4"), "low watermark 4: " + out);
    String o = tool("org.apache.kafka.tools.GetOffsetShell", "--bootstrap-server", env.bootstrap, "--topic", t,
      "--time", "-2");
    eq(t + ":0:4", o.trim(), "earliest after delete-records");
  }

  static void features(Env env) throws Exception {
    String c = "org.apache.kafka.tools.FeatureCommand";
    String d = tool(c, "--bootstrap-server", env.bootstrap, "describe");
    check(d.contains("Feature: group.version") && d.contains("Feature: transaction.version"), "describe: " + d);
    String line = d.lines().filter(l -> l.contains("Feature: group.version")).findFirst().get();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("FinalizedVersionLevel: (\\d+)").matcher(line);
    check(m.find(), "group.version finalized: " + line);
    String out = tool(c, "--bootstrap-server", env.bootstrap, "upgrade", "--feature", "group.version=" + m.group(1),
      "--dry-run");
    check(out.contains("group.version"), "upgrade --dry-run: " + out);
  }

  static void cluster(Env env) throws Exception {
    String c = "org.apache.kafka.tools.ClusterTool";
    String out = tool(c, "cluster-id", "--bootstrap-server", env.bootstrap);
    String id;
    try (Admin a = env.admin()) {
      id = a.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
    }
    eq("Cluster ID: " + id, out.trim(), "cluster-id");
    out = tool("org.apache.kafka.tools.BrokerApiVersionsCommand", "--bootstrap-server", env.bootstrap);
    check(out.contains("Produce(0):") && out.contains("ConsumerGroupHeartbeat(68):"), "broker api versions: " + out);
    out = tool("org.apache.kafka.tools.LogDirsCommand", "--bootstrap-server", env.bootstrap, "--describe");
    check(out.contains("\"logDirs\""), "log dirs: " + out);
  }

  static void perf(Env env) throws Exception {
    String t = env.name("tool-perf");
    env.createTopic(t, 2);
    String out = tool("org.apache.kafka.tools.ProducerPerformance", "--topic", t, "--num-records", "20000",
      "--record-size", "200", "--throughput", "-1", "--bootstrap-server", env.bootstrap, "--producer-props", "acks=all",
      "compression.type=lz4");
    check(out.contains("20000 records sent"), "producer perf: " + out);
    out = tool("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", env.bootstrap, "--topic", t,
      "--num-records", "20000", "--timeout", "60000");
    List<String> lines = new ArrayList<>(out.lines().toList());
    check(lines.size() == 2, "header and one result line: " + out);
    // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, ...
    String[] cols = lines.get(1).split(",\\s*");
    eq("20000", cols[4].trim(), "records consumed: " + out);
    out = tool("org.apache.kafka.tools.ProducerPerformance", "--topic", t, "--num-records", "2000", "--record-size",
      "100", "--throughput", "-1", "--bootstrap-server", env.bootstrap, "--transactional-id", env.name("perf-txn"),
      "--transaction-duration-ms", "100");
    check(out.contains("2000 records sent"), "transactional producer perf: " + out);
  }
}
