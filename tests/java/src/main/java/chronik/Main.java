package chronik;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs named cases against one broker: {@code java chronik.Main <bootstrap> [case...]} (all cases when none are
 * named). Each case prints one line on stdout, {@code CASE ok <name> <ms>} or {@code CASE fail <name> <message>}
 * (its stack trace on stderr), so tests/e2e/java_test.ts turns every case into one bun test. Exit code 1 when a case
 * failed.
 */
public final class Main {
  /** A case: throws on a difference from what Apache Kafka would do. */
  public interface Case {
    void run(Env env) throws Exception;
  }

  static final Map<String, Case> CASES = new LinkedHashMap<>();
  /** Cases for a cluster of brokers (tests/e2e/postgres_cluster_clients_test.ts): run by name only, not listed. */
  static final Map<String, Case> CLUSTER_CASES = new LinkedHashMap<>(ClusterCases.cases());

  static {
    CLUSTER_CASES.putAll(ShareClusterCases.cases());
  }

  static {
    ClientCases.register(CASES);
    AdminCases.register(CASES);
    ToolCases.register(CASES);
    StreamsCases.register(CASES);
    ConnectCases.register(CASES);
    SecurityCases.register(CASES);
    QueueCases.register(CASES);
    TelemetryCases.register(CASES);
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: chronik.Main <bootstrap> [case...] | --list");
      System.exit(2);
    }
    if (args[0].equals("--list")) {
      for (String name : CASES.keySet()) System.out.println(name);
      return;
    }
    Env env = new Env(args[0], System.getenv().getOrDefault("CHRONIK_RUN", "r"));
    List<String> names = new ArrayList<>();
    for (int i = 1; i < args.length; i++) names.add(args[i]);
    if (names.isEmpty()) names.addAll(CASES.keySet());
    boolean failed = false;
    for (String name : names) {
      Case c = CASES.containsKey(name) ? CASES.get(name) : CLUSTER_CASES.get(name);
      long start = System.nanoTime();
      try {
        if (c == null) throw new IllegalArgumentException("no such case");
        c.run(env);
        System.out.println("CASE ok " + name + " " + (System.nanoTime() - start) / 1_000_000);
      } catch (Throwable t) {
        failed = true;
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        System.err.println("case " + name + " failed:\n" + sw);
        String msg = (t.getClass().getName() + ": " + t.getMessage()).replace('\n', ' ');
        System.out.println("CASE fail " + name + " " + msg);
      }
      System.out.flush();
    }
    System.exit(failed ? 1 : 0);
  }
}
