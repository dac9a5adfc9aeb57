// A minimal reader of OTLP MetricsData (opentelemetry/proto/metrics/v1/metrics.proto), the payload of
// PushTelemetry (KIP-714). It walks the protobuf wire format and keeps, for each number data point
// of a gauge or sum (and the count and sum of a histogram), the metric name, its attributes and its
// value. Unknown fields are skipped, so newer payloads still read; a malformed one throws.

export type OtlpPoint = { name: string; attributes: Record<string, string>; value: number };

const utf8 = new TextDecoder();

class Pb {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly end = buf.length,
    start = 0,
    readonly view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
  ) {
    this.pos = start;
  }
  get done() {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error("OTLP: truncated varint");
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new Error("OTLP: varint too long");
  }
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }
  sub(): Pb {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error("OTLP: truncated field");
    const p = new Pb(this.buf, this.pos + len, this.pos, this.view);
    this.pos += len;
    return p;
  }
  /** The position of a fixed64 in `view`, read by the caller as the type it is. */
  fixed64(): number {
    if (this.pos + 8 > this.end) throw new Error("OTLP: truncated fixed64");
    this.pos += 8;
    return this.pos - 8;
  }
  skip(wire: number) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.fixed64();
    else if (wire === 2) this.sub();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`OTLP: unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new Error("OTLP: truncated field");
  }
  string(): string {
    const p = this.sub();
    return utf8.decode(p.buf.subarray(p.pos, p.end));
  }
}

/** AnyValue as text (string, bool, int, double; others by their bytes' length). */
function anyValue(p: Pb): string {
  let out = "";
  while (!p.done) {
    const [f, w] = p.tag();
    if (f === 1 && w === 2) out = p.string();
    else if (f === 2 && w === 0) out = p.varint() ? "true" : "false";
    else if (f === 3 && w === 0) out = String(p.varint());
    else if (f === 4 && w === 1) out = String(p.view.getFloat64(p.fixed64(), true));
    else p.skip(w);
  }
  return out;
}

function keyValue(p: Pb, into: Record<string, string>) {
  let key = "";
  let value = "";
  while (!p.done) {
    const [f, w] = p.tag();
    if (f === 1 && w === 2) key = p.string();
    else if (f === 2 && w === 2) value = anyValue(p.sub());
    else p.skip(w);
  }
  if (key) into[key] = value;
}

/** NumberDataPoint (or, with `histogram`, HistogramDataPoint's count and sum). */
function dataPoint(p: Pb, name: string, base: Record<string, string>, out: OtlpPoint[], histogram: boolean) {
  const attributes = { ...base };
  let value: number | null = null;
  let count: number | null = null;
  let sum: number | null = null;
  while (!p.done) {
    const [f, w] = p.tag();
    const attrField = histogram ? 9 : 7;
    if (f === attrField && w === 2) keyValue(p.sub(), attributes);
    else if (!histogram && f === 4 && w === 1) value = p.view.getFloat64(p.fixed64(), true);
    else if (!histogram && f === 6 && w === 1) value = Number(p.view.getBigInt64(p.fixed64(), true));
    else if (histogram && f === 4 && w === 1) count = Number(p.view.getBigUint64(p.fixed64(), true));
    else if (histogram && f === 5 && w === 1) sum = p.view.getFloat64(p.fixed64(), true);
    else p.skip(w);
  }
  if (value !== null) out.push({ name, attributes, value });
  if (count !== null) out.push({ name: `${name}.count`, attributes, value: count });
  if (sum !== null) out.push({ name: `${name}.sum`, attributes, value: sum });
}

function metric(p: Pb, base: Record<string, string>, out: OtlpPoint[]) {
  let name = "";
  const bodies: [Pb, boolean][] = [];
  while (!p.done) {
    const [f, w] = p.tag();
    if (f === 1 && w === 2) name = p.string();
    else if ((f === 5 || f === 7) && w === 2) bodies.push([p.sub(), false]); // gauge, sum
    else if (f === 9 && w === 2) bodies.push([p.sub(), true]); // histogram
    else p.skip(w);
  }
  for (const [body, histogram] of bodies) {
    while (!body.done) {
      const [f, w] = body.tag();
      if (f === 1 && w === 2) dataPoint(body.sub(), name, base, out, histogram);
      else body.skip(w);
    }
  }
}

/** Every data point of a MetricsData payload, with its resource's attributes merged in. */
export function readOtlpMetrics(buf: Uint8Array): OtlpPoint[] {
  const out: OtlpPoint[] = [];
  const top = new Pb(buf);
  while (!top.done) {
    const [f, w] = top.tag();
    if (f !== 1 || w !== 2) {
      top.skip(w);
      continue;
    }
    const rm = top.sub();
    const resource: Record<string, string> = {};
    const scopes: Pb[] = [];
    while (!rm.done) {
      const [rf, rw] = rm.tag();
      if (rf === 1 && rw === 2) {
        const r = rm.sub();
        while (!r.done) {
          const [af, aw] = r.tag();
          if (af === 1 && aw === 2) keyValue(r.sub(), resource);
          else r.skip(aw);
        }
      } else if (rf === 2 && rw === 2) scopes.push(rm.sub());
      else rm.skip(rw);
    }
    for (const s of scopes) {
      while (!s.done) {
        const [sf, sw] = s.tag();
        if (sf === 2 && sw === 2) metric(s.sub(), resource, out);
        else s.skip(sw);
      }
    }
  }
  return out;
}
