// Just enough XML for S3's answers (ListObjectsV2, DeleteObjects, errors): the text of named elements,
// which S3 never nests under the same name. There is no DOMParser on Bun or Node.

/** The raw contents of every <tag>…</tag> in `xml`, in order. */
export function xmlElements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const open = new RegExp(`<${tag}(?:\\s[^>]*)?>`, "g");
  const close = `</${tag}>`;
  let m: RegExpExecArray | null;
  while ((m = open.exec(xml)) !== null) {
    if (m[0].endsWith("/>")) {
      out.push("");
      continue;
    }
    const start = m.index + m[0].length;
    const end = xml.indexOf(close, start);
    if (end < 0) break;
    out.push(xml.slice(start, end));
    open.lastIndex = end + close.length;
  }
  return out;
}

/** The unescaped text of the first <tag>, or null. */
export function xmlText(xml: string, tag: string): string | null {
  const e = xmlElements(xml, tag);
  return e.length === 0 ? null : xmlUnescape(e[0]);
}

export function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    switch (e) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`)
    .replace(/\r/g, "&#13;");
}
