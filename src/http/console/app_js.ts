// The console's browser-side script, served at /ui/app.js: sends forms as JSON, renders the message
// browser (text, JSON or hex; Avro and JSON Schema values decoded with the schema registry when they
// start with Confluent's magic byte and a schema id) and draws the live throughput chart.
// Plain ES2020, no dependencies, kept as a string so that it ships inside the compiled binary.
export const APP_JS = String.raw`
(() => {
  const status = document.getElementById("status");
  const say = (msg, error) => { status.textContent = msg; status.className = error ? "error" : ""; };
  const lines = (text) => (text || "").split("\n").map((l) => l.trim()).filter(Boolean);

  async function send(url, method, body) {
    const r = await fetch(url, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(j.error || j.message || ("HTTP " + r.status));
    return j;
  }

  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
      const data = Object.fromEntries(new FormData(form).entries());
      let body = data;
      if (form.dataset.kind === "produce") {
        const rec = { key: data.key === "" ? null : data.key, value: data.value };
        if (data.partition !== "") rec.partition = Number(data.partition);
        const headers = {};
        for (const l of lines(data.headers)) { const i = l.indexOf("="); headers[l.slice(0, i)] = l.slice(i + 1); }
        if (Object.keys(headers).length) rec.headers = headers;
        body = { format: "string", records: [rec] };
      }
      try {
        const out = await send(form.dataset.api, form.dataset.method || "POST", body);
        if (form.dataset.kind === "produce") {
          const o = out.offsets[0];
          if (o.error) throw new Error(o.error);
          say("Produced to partition " + o.partition + " at offset " + o.offset + ".");
          return;
        }
        say(out.message || "Done.");
        const then = form.dataset.then;
        if (then === "reload") setTimeout(() => location.reload(), 300);
        else if (then) setTimeout(() => { location.href = then; }, 300);
      } catch (err) { say(err.message, true); }
    });
  }

  // ---- message browser ----
  const b64 = (s) => s === null ? null : Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
  const utf8 = (b) => new TextDecoder().decode(b);
  const schemas = new Map();
  async function schema(id) {
    if (!schemas.has(id)) schemas.set(id, fetch("/schemas/ids/" + id).then((r) => r.ok ? r.json() : null));
    return schemas.get(id);
  }
  // Avro binary decoding (the subset records use: primitives, records, enums, arrays, maps, unions, fixed).
  function avroDecode(type, buf, named) {
    let pos = 0;
    const long = () => { let n = 0n, shift = 0n, b; do { b = buf[pos++]; n |= BigInt(b & 0x7f) << shift; shift += 7n; } while (b & 0x80); return (n >> 1n) ^ -(n & 1n); };
    const read = (t) => {
      if (typeof t === "string") {
        switch (t) {
          case "null": return null;
          case "boolean": return buf[pos++] === 1;
          case "int": return Number(long());
          case "long": { const v = long(); return Number.isSafeInteger(Number(v)) ? Number(v) : String(v); }
          case "float": { const v = new DataView(buf.buffer, buf.byteOffset + pos, 4).getFloat32(0, true); pos += 4; return v; }
          case "double": { const v = new DataView(buf.buffer, buf.byteOffset + pos, 8).getFloat64(0, true); pos += 8; return v; }
          case "bytes": { const n = Number(long()); const v = hex(buf.subarray(pos, pos + n)); pos += n; return v; }
          case "string": { const n = Number(long()); const v = utf8(buf.subarray(pos, pos + n)); pos += n; return v; }
          default: return read(named.get(t) || named.get(t.split(".").pop()));
        }
      }
      if (Array.isArray(t)) return read(t[Number(long())]);
      if (t.name) named.set(t.name, t);
      switch (t.type) {
        case "record": case "error": { const o = {}; for (const f of t.fields) o[f.name] = read(f.type); return o; }
        case "enum": return t.symbols[Number(long())];
        case "fixed": { const v = hex(buf.subarray(pos, pos + t.size)); pos += t.size; return v; }
        case "array": case "map": {
          const out = t.type === "array" ? [] : {};
          for (;;) {
            let n = Number(long());
            if (n === 0) break;
            if (n < 0) { n = -n; long(); }
            for (let i = 0; i < n; i++) {
              if (t.type === "array") out.push(read(t.items));
              else { const k = read("string"); out[k] = read(t.values); }
            }
          }
          return out;
        }
        default: return read(t.type);
      }
    };
    return read(type);
  }
  async function show(bytes, as) {
    if (bytes === null) return "null";
    if (bytes.length >= 5 && bytes[0] === 0 && as !== "hex") {
      const id = new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getInt32(0);
      const s = await schema(id);
      if (s) {
        try {
          const body = bytes.subarray(5);
          if (!s.schemaType || s.schemaType === "AVRO") return "[schema " + id + "] " + JSON.stringify(avroDecode(JSON.parse(s.schema), body, new Map()), null, 1);
          if (s.schemaType === "JSON") return "[schema " + id + "] " + JSON.stringify(JSON.parse(utf8(body)), null, 1);
          return "[protobuf schema " + id + "] " + hex(body);
        } catch { /* not what the schema says: show it plainly */ }
      }
    }
    if (as === "hex") return hex(bytes);
    const text = utf8(bytes);
    if (as === "json") { try { return JSON.stringify(JSON.parse(text), null, 1); } catch { return text; } }
    return text;
  }
  const browse = document.getElementById("browse");
  if (browse) {
    browse.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(browse).entries());
      const topic = encodeURIComponent(browse.dataset.topic);
      try {
        let offset = Number(f.offset || 0);
        if (f.time) {
          const r = await fetch("/ui/api/topics/" + topic + "/partitions/" + f.partition + "/offset?timestamp=" + new Date(f.time).getTime());
          offset = (await r.json()).offset;
        }
        const r = await fetch("/v1/topics/" + topic + "/partitions/" + f.partition + "/records?format=binary&offset=" + offset);
        const j = await r.json();
        if (!r.ok) throw new Error(j.message || ("HTTP " + r.status));
        const recs = j.records.slice(0, Number(f.max || 50));
        const table = document.createElement("table");
        table.innerHTML = "<caption class=muted>Partition " + f.partition + " from offset " + offset + ": " + recs.length + " message(s)</caption><thead><tr><th scope=col class=num>Offset</th><th scope=col>Time</th><th scope=col>Key</th><th scope=col>Value</th><th scope=col>Headers</th></tr></thead>";
        const tbody = document.createElement("tbody");
        for (const rec of recs) {
          const tr = document.createElement("tr");
          const cells = [String(rec.offset), new Date(rec.timestamp).toISOString(), await show(b64(rec.key), f.as), await show(b64(rec.value), f.as),
            Object.entries(rec.headers || {}).map(([k, v]) => k + "=" + (v === null ? "null" : utf8(b64(v)))).join("\n")];
          cells.forEach((c, i) => { const td = document.createElement("td"); if (i === 0) td.className = "num"; const pre = document.createElement("pre"); pre.textContent = c; td.appendChild(pre); tr.appendChild(td); });
          tbody.appendChild(tr);
        }
        table.appendChild(tbody);
        const out = document.getElementById("messages");
        out.replaceChildren(table);
        say("Showing " + recs.length + " message(s).");
      } catch (err) { say(err.message, true); }
    });
  }

  // ---- live chart ----
  const svg = document.getElementById("rates");
  if (svg) {
    const samples = [];
    let last = null;
    const fmt = (n) => n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB/s" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB/s" : n.toFixed(0) + " B/s";
    async function tick() {
      try {
        const m = await (await fetch("/ui/api/rates")).json();
        if (last) {
          const dt = Math.max(0.001, (m.now - last.now) / 1000);
          samples.push({ in: (m.bytesIn - last.bytesIn) / dt, out: (m.bytesOut - last.bytesOut) / dt, produce: (m.produce - last.produce) / dt, fetch: (m.fetch - last.fetch) / dt });
          if (samples.length > 60) samples.shift();
          draw();
        }
        last = m;
      } catch { /* next tick */ }
    }
    function draw() {
      const max = Math.max(1, ...samples.map((s) => Math.max(s.in, s.out)));
      const line = (key, color) => {
        const pts = samples.map((s, i) => (i * 15) + "," + (190 - (s[key] / max) * 180).toFixed(1)).join(" ");
        return '<polyline fill="none" stroke="' + color + '" stroke-width="2" points="' + pts + '"/>';
      };
      svg.innerHTML = line("in", "#2f6fdb") + line("out", "#1d6b34") + '<text x="8" y="16" font-size="12">max ' + fmt(max) + "</text>";
      const s = samples[samples.length - 1];
      document.getElementById("rates-now").textContent = "In " + fmt(s.in) + " (blue), out " + fmt(s.out) + " (green); " + s.produce.toFixed(1) + " produce and " + s.fetch.toFixed(1) + " fetch requests/s.";
    }
    tick();
    setInterval(tick, 2000);
  }
})();
`;
