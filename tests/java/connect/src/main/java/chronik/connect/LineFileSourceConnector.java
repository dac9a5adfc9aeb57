package chronik.connect;

import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.source.SourceConnector;

/**
 * Reads a text file line by line into a topic, one record per line (the value, a string), resuming after the last
 * line whose offset Connect stored. Written for this test: Apache Kafka's own connect-file is not served at 4.4.0
 * (see ../../../../../pom.xml), so the 4.4.0 Connect runtime runs these two small connectors instead.
 */
public final class LineFileSourceConnector extends SourceConnector {
  static final ConfigDef CONFIG = new ConfigDef()
    .define("file", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "the file to read")
    .define("topic", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "the topic to write");
  private Map<String, String> props;

  @Override
  public void start(Map<String, String> props) {
    CONFIG.parse(props);
    this.props = props;
  }

  @Override
  public Class<? extends Task> taskClass() {
    return LineFileSourceTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    return List.of(props);
  }

  @Override
  public void stop() {}

  @Override
  public ConfigDef config() {
    return CONFIG;
  }

  @Override
  public String version() {
    return "chronik-test";
  }
}
