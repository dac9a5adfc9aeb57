// A minimal reader of OTLP MetricsData (opentelemetry/proto/metrics/v1/metrics.proto), the payload of
// PushTelemetry (KIP-714). It walks the protobuf wire format and keeps, for each number data point
// of a gauge or sum (and the count and sum of a histogram), the metric name, its attributes and its
// value. Unknown fields are skipped, so newer payloads still read; a malformed one throws.

import { ProtoReader } from "../../protocol/protobuf.ts";

export type OtlpPoint = { name: string; attributes: Record<string, string>; value: number };

/** Malformed data throws "OTLP: ...". */
const fail = (message: string) => new Error(`OTLP: ${message}`);

/** AnyValue as text (string, bool, int, double; others by their bytes' length). */
function anyValue(p: ProtoReader): string {
  let out = "";
  while (!p.done) {
    const [f, w] = p.tag();
    if (f === 1 && w === 2) out = p.string();
    else if (f === 2 && w === 0) out = p.varint() ? "true" : "false";
    else if (f === 3 && w === 0) out = String(BigInt.asIntN(64, p.varint())); // int64
    else if (f === 4 && w === 1) out = String(p.fixed(8).getFloat64(0, true));
    else p.skip(w);
  }
  return out;
}

function keyValue(p: ProtoReader, into: Record<string, string>) {
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
function dataPoint(p: ProtoReader, name: string, base: Record<string, string>, out: OtlpPoint[], histogram: boolean) {
  const attributes = { ...base };
  let value: number | null = null;
  let count: number | null = null;
  let sum: number | null = null;
  while (!p.done) {
    const [f, w] = p.tag();
    const attrField = histogram ? 9 : 7;
    if (f === attrField && w === 2) keyValue(p.sub(), attributes);
    else if (!histogram && f === 4 && w === 1) value = p.fixed(8).getFloat64(0, true);
    else if (!histogram && f === 6 && w === 1) value = Number(p.fixed(8).getBigInt64(0, true));
    else if (histogram && f === 4 && w === 1) count = Number(p.fixed(8).getBigUint64(0, true));
    else if (histogram && f === 5 && w === 1) sum = p.fixed(8).getFloat64(0, true);
    else p.skip(w);
  }
  if (value !== null) out.push({ name, attributes, value });
  if (count !== null) out.push({ name: `${name}.count`, attributes, value: count });
  if (sum !== null) out.push({ name: `${name}.sum`, attributes, value: sum });
}

function metric(p: ProtoReader, base: Record<string, string>, out: OtlpPoint[]) {
  let name = "";
  const bodies: [ProtoReader, boolean][] = [];
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
  const top = new ProtoReader(buf, buf.length, 0, fail);
  while (!top.done) {
    const [f, w] = top.tag();
    if (f !== 1 || w !== 2) {
      top.skip(w);
      continue;
    }
    const rm = top.sub();
    const resource: Record<string, string> = {};
    const scopes: ProtoReader[] = [];
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
