// Standard base64 for the HTTP side: the binary embedded format of REST v2/v3 and consumer
// instances, and HTTP Basic credentials.

/** Bytes of standard base64 text; throws, as atob does, when `s` is not base64. */
export function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
