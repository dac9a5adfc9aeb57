package chronik.connect;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;

/** The task of {@link LineFileSinkConnector}: writes each batch of records and flushes it before returning. */
public final class LineFileSinkTask extends SinkTask {
  private BufferedWriter out;

  @Override
  public void start(Map<String, String> props) {
    try {
      out = Files.newBufferedWriter(Path.of(props.get("file")), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new ConnectException(e);
    }
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    try {
      for (SinkRecord r : records) {
        out.write(String.valueOf(r.value()));
        out.write('\n');
      }
      out.flush();
    } catch (IOException e) {
      throw new ConnectException(e);
    }
  }

  @Override
  public void flush(Map<TopicPartition, OffsetAndMetadata> offsets) {
    try {
      out.flush();
    } catch (IOException e) {
      throw new ConnectException(e);
    }
  }

  @Override
  public void stop() {
    try {
      if (out != null) out.close();
    } catch (IOException e) {
      throw new ConnectException(e);
    }
  }

  @Override
  public String version() {
    return "chronik-test";
  }
}
