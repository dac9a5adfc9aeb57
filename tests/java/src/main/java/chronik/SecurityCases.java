package chronik;

import static chronik.Env.check;
import static chronik.Env.eq;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * SASL over TLS (a SASL_SSL listener): SCRAM-SHA-256, SCRAM-SHA-512, PLAIN and OAUTHBEARER with the Java client's
 * unsecured login, the broker's certificate and host name verified against a PEM truststore
 * ({@code -Dchronik.truststore=cert.pem}); a wrong password is refused. Run against a broker with such a listener
 * and the users bob (SCRAM-SHA-256), carol (SCRAM-SHA-512) and alice (PLAIN).
 */
final class SecurityCases {
  static void register(Map<String, Main.Case> cases) {
    cases.put("security.sasl-ssl.scram-sha-256", env -> roundTrip(env, "SCRAM-SHA-256", scram("bob", "bob-secret")));
    cases.put("security.sasl-ssl.scram-sha-512", env -> roundTrip(env, "SCRAM-SHA-512", scram("carol", "carol-secret")));
    cases.put("security.sasl-ssl.plain", env -> roundTrip(env, "PLAIN",
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"alice-secret\";"));
    cases.put("security.sasl-ssl.oauthbearer-unsecured", env -> roundTrip(env, "OAUTHBEARER",
      "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"dave\";"));
    cases.put("security.sasl-ssl.wrong-password-refused", SecurityCases::wrongPassword);
  }

  static String scram(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\""
      + password + "\";";
  }

  static Map<String, Object> props(Env env, String mechanism, String jaas) {
    Map<String, Object> p = env.base();
    p.put("security.protocol", "SASL_SSL");
    p.put("sasl.mechanism", mechanism);
    p.put("sasl.jaas.config", jaas);
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.location", System.getProperty("chronik.truststore"));
    return p;
  }

  static void roundTrip(Env env, String mechanism, String jaas) throws Exception {
    String topic = env.name("sec-" + mechanism.toLowerCase());
    Map<String, Object> p = props(env, mechanism, jaas);
    try (Admin a = Admin.create(p)) {
      a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    Map<String, Object> pp = new HashMap<>(p);
    pp.put("acks", "all");
    try (KafkaProducer<String, String> prod = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < 20; i++) prod.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get(30, TimeUnit.SECONDS);
    }
    Map<String, Object> cp = new HashMap<>(p);
    cp.put("group.id", env.name("sec-g-" + mechanism.toLowerCase()));
    cp.put("auto.offset.reset", "earliest");
    int n = 0;
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
      c.subscribe(List.of(topic));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (n < 20 && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(java.time.Duration.ofMillis(200))) {
          eq("v" + n, r.value(), "record " + n);
          n++;
        }
      }
      c.commitSync();
    }
    eq(20, n, "records consumed over " + mechanism);
  }

  static void wrongPassword(Env env) throws Exception {
    Map<String, Object> p = props(env, "SCRAM-SHA-256", scram("bob", "not-bobs"));
    p.put("request.timeout.ms", 10000);
    p.put("default.api.timeout.ms", 20000);
    try (Admin a = Admin.create(p)) {
      a.listTopics().names().get(30, TimeUnit.SECONDS);
      throw new AssertionError("a wrong password was accepted");
    } catch (ExecutionException e) {
      check(e.getCause() instanceof SaslAuthenticationException, "SaslAuthenticationException: " + e.getCause());
    }
  }
}
