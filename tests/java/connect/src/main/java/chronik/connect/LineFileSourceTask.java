package chronik.connect;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/** The task of {@link LineFileSourceConnector}: its source offset is the byte position after the last line sent. */
public final class LineFileSourceTask extends SourceTask {
  private String file;
  private String topic;
  private Map<String, String> partition;
  private long position;
  private RandomAccessFile in;

  @Override
  public void start(Map<String, String> props) {
    file = props.get("file");
    topic = props.get("topic");
    partition = Map.of("file", file);
    Map<String, Object> stored = context.offsetStorageReader().offset(partition);
    position = stored == null ? 0L : ((Number) stored.get("position")).longValue();
  }

  @Override
  public List<SourceRecord> poll() throws InterruptedException {
    try {
      if (in == null) in = new RandomAccessFile(file, "r");
      in.seek(position);
      byte[] buf = new byte[(int) Math.min(1 << 16, Math.max(0, in.length() - position))];
      int n = in.read(buf);
      List<SourceRecord> out = new ArrayList<>();
      int start = 0;
      for (int i = 0; i < n; i++) {
        if (buf[i] != '\n') continue;
        String line = new String(buf, start, i - start, StandardCharsets.UTF_8);
        long next = position + i + 1;
        out.add(new SourceRecord(partition, Map.of("position", next), topic, null, Schema.STRING_SCHEMA, line));
        start = i + 1;
      }
      position += start; // a line not yet ended waits for the next poll
      if (out.isEmpty()) Thread.sleep(100);
      return out.isEmpty() ? null : out;
    } catch (IOException e) {
      throw new org.apache.kafka.connect.errors.ConnectException(e);
    }
  }

  @Override
  public void stop() {
    try {
      if (in != null) in.close();
    } catch (IOException ignored) {
      // closing a file we only read
    }
  }

  @Override
  public String version() {
    return "chronik-test";
  }
}
