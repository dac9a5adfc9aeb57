// Splits a byte stream into Kafka frames (int32 size, then that many bytes): a data callback for
// test clients over TCP or the memory runtime. Frames are handed over without their size prefix.
export function frameReader(onFrame: (frame: Uint8Array) => void): (chunk: Uint8Array) => void {
  let buf = new Uint8Array(0);
  return (chunk) => {
    const merged = new Uint8Array(buf.length + chunk.length);
    merged.set(buf);
    merged.set(chunk, buf.length);
    buf = merged;
    while (buf.length >= 4) {
      const size = new DataView(buf.buffer, buf.byteOffset).getInt32(0);
      if (buf.length < 4 + size) break;
      const frame = buf.slice(4, 4 + size);
      buf = buf.slice(4 + size);
      onFrame(frame);
    }
  };
}
