package chronik;

import static chronik.Env.check;
import static chronik.Env.eq;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Kafka Connect standalone (org.apache.kafka.connect.cli.ConnectStandalone, what bin/connect-standalone.sh runs) in
 * its own JVM with Apache Kafka's file source and sink connectors (FileStreamSourceConnector, FileStreamSinkConnector):
 * file, topic, file, the same lines in the same order. Connect 4.4.0 on its own classpath relative to tests/java, the
 * connectors (connect-file 4.3.1) from the worker's plugin.path; connect/pom.xml says why 4.3.1 and why the plugin
 * directory holds kafka-clients 4.3.1 beside them.
 */
final class ConnectCases {
  static final String CLASSPATH = System.getProperty("chronik.connect.cp", "connect/target/lib/*");
  static final Path PLUGINS = Path.of(System.getProperty("chronik.connect.plugins", "connect/target/plugins"));

  static void register(Map<String, Main.Case> cases) {
    cases.put("connect.standalone.file-source-sink", ConnectCases::fileSourceSink);
  }

  static void fileSourceSink(Env env) throws Exception {
    String topic = env.name("connect-lines");
    env.createTopic(topic, 1);
    Path dir = Files.createTempDirectory("chronik-connect");
    Path in = dir.resolve("in.txt");
    Path out = dir.resolve("out.txt");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 500; i++) lines.add("line " + i + " ünïcödé " + "x".repeat(i % 30));
    Files.write(in, lines, StandardCharsets.UTF_8);
    Path worker = dir.resolve("worker.properties");
    Files.writeString(worker, String.join("\n",
      "bootstrap.servers=" + env.bootstrap,
      "key.converter=org.apache.kafka.connect.storage.StringConverter",
      "value.converter=org.apache.kafka.connect.storage.StringConverter",
      "offset.storage.file.filename=" + dir.resolve("offsets"),
      "offset.flush.interval.ms=1000",
      "listeners=http://127.0.0.1:0",
      "plugin.path=" + PLUGINS.toAbsolutePath(),
      "plugin.discovery=only_scan", ""));
    Path source = dir.resolve("source.properties");
    Files.writeString(source, String.join("\n",
      "name=" + env.name("file-source"),
      "connector.class=org.apache.kafka.connect.file.FileStreamSourceConnector",
      "tasks.max=1",
      "file=" + in,
      "topic=" + topic, ""));
    Path sink = dir.resolve("sink.properties");
    Files.writeString(sink, String.join("\n",
      "name=" + env.name("file-sink"),
      "connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector",
      "tasks.max=1",
      "file=" + out,
      "topics=" + topic,
      "consumer.override.auto.offset.reset=earliest", ""));
    String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      // The Worker's INFO line "Instantiated connector <name> with version <v> of type <class>" names what ran.
      "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.connect.runtime.Worker=info", "-cp", CLASSPATH,
      "org.apache.kafka.connect.cli.ConnectStandalone", worker.toString(), source.toString(), sink.toString());
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("connect.log").toFile());
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (true) {
        List<String> got = Files.exists(out) ? Files.readAllLines(out, StandardCharsets.UTF_8) : List.of();
        if (got.size() >= lines.size()) {
          eq(lines, got, "the sink file");
          break;
        }
        if (!p.isAlive()) {
          throw new AssertionError("connect-standalone exited " + p.exitValue() + ":\n" + tail(dir.resolve("connect.log")));
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("sink has " + got.size() + " of " + lines.size() + " lines:\n"
            + tail(dir.resolve("connect.log")));
        }
        Thread.sleep(200);
      }
    } finally {
      p.destroy();
      if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
    }
    eq(lines.size(), env.readAll(topic, "read_uncommitted").size(), "records in the topic");
    String log = Files.readString(dir.resolve("connect.log"));
    for (String kind : List.of("Source", "Sink")) {
      String ran = "with version 4.3.1 of type class org.apache.kafka.connect.file.FileStream" + kind + "Connector";
      check(log.contains(ran), "Connect ran FileStream" + kind + "Connector 4.3.1:\n" + tail(dir.resolve("connect.log")));
    }
    try (var walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

  static String tail(Path log) throws Exception {
    if (!Files.exists(log)) return "";
    String s = Files.readString(log);
    return s.substring(Math.max(0, s.length() - 3000));
  }
}
