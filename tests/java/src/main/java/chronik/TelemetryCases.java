package chronik;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;

/**
 * Client telemetry (KIP-714) end to end: a client-metrics subscription made with the Admin client (as
 * kafka-client-metrics.sh does) matches a producer by its client id; the producer (enable.metrics.push, on by default)
 * gets it through GetTelemetrySubscriptions, pushes its metrics with PushTelemetry, and they appear on the broker's
 * /metrics as chronik_client_metric with the client's id. The broker's HTTP address comes in -Dchronik.http.
 */
final class TelemetryCases {
  private TelemetryCases() {}

  static void register(Map<String, Main.Case> cases) {
    cases.put("telemetry.push", TelemetryCases::push);
  }

  static void push(Env env) throws Exception {
    String http = System.getProperty("chronik.http");
    if (http == null) throw new AssertionError("no -Dchronik.http=<host:port> of the broker's HTTP side");
    String clientId = env.name("telemetry-producer");
    String topic = env.name("telemetry");
    env.createTopic(topic, 1);
    try (Admin admin = env.admin()) {
      admin.incrementalAlterConfigs(Map.of(
        new ConfigResource(ConfigResource.Type.CLIENT_METRICS, env.name("telemetry-sub")),
        List.of(
          new AlterConfigOp(new ConfigEntry("metrics", "org.apache.kafka.producer."), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("interval.ms", "200"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("match", "client_id=" + clientId), AlterConfigOp.OpType.SET)
        )
      )).all().get();
    }
    HttpClient web = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    HttpRequest metrics = HttpRequest.newBuilder(URI.create("http://" + http + "/metrics"))
      .timeout(Duration.ofSeconds(10)).build();
    String needle = "client_id=\"" + clientId + "\"";
    try (KafkaProducer<String, String> producer = env.producer(Map.of("client.id", clientId))) {
      for (int i = 0; i < 10; i++) producer.send(new ProducerRecord<>(topic, "t" + i)).get();
      String[] last = {""};
      Env.until(() -> "a chronik_client_metric line of " + clientId + " on /metrics", () -> {
        try {
          last[0] = web.send(metrics, HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
        return last[0].lines().anyMatch(l ->
          l.startsWith("chronik_client_metric{") && l.contains(needle) &&
            l.contains("metric=\"org.apache.kafka.producer.") && l.contains("client_software_name=\"apache-kafka-java\"")
        );
      });
    }
  }
}
