// TLS for SSL and SASL_SSL listeners: the broker's certificate chain and key from Kafka's PEM
// keystore configs (KIP-651): `ssl.keystore.type=PEM` with `ssl.keystore.location` (a PEM file
// holding the private key and the certificate chain), or `ssl.keystore.key` and
// `ssl.keystore.certificate.chain` given inline; each may carry the listener prefix
// `listener.name.<listener>.`. JKS and PKCS12 keystores, encrypted keys (`ssl.key.password`) and
// client certificates (`ssl.client.auth` other than none) are refused at start with a reason.
import type { BrokerConfig } from "../../config.ts";
import type { FileSystem, TlsOptions } from "../../runtime.ts";

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Splits PEM text into its private key and certificates (leaf first, as given). */
export function splitPem(text: string): { keys: string[]; certs: string[]; encrypted: boolean } {
  const keys: string[] = [];
  const certs: string[] = [];
  let encrypted = false;
  for (const m of text.matchAll(BLOCK)) {
    const label = m[1];
    if (label === "CERTIFICATE") certs.push(m[0]);
    else if (label === "ENCRYPTED PRIVATE KEY") encrypted = true;
    else if (label.endsWith("PRIVATE KEY")) keys.push(m[0]);
  }
  return { keys, certs, encrypted };
}

export async function tlsOptionsFor(config: BrokerConfig, listenerName: string, fs: FileSystem): Promise<TlsOptions> {
  const get = (name: string): string | null => {
    const v = config[`listener.name.${listenerName.toLowerCase()}.${name}`] ?? config[name];
    return v === undefined || v === null || v === "" ? null : String(v);
  };
  const type = get("ssl.keystore.type");
  if (type !== null && type.toUpperCase() !== "PEM") {
    throw new Error(
      `ssl.keystore.type ${type} is not supported: use PEM (JKS and PKCS12 keystores cannot be read here)`,
    );
  }
  if (get("ssl.key.password") !== null || get("ssl.keystore.password") !== null) {
    throw new Error(
      "encrypted private keys are not supported: give an unencrypted PEM key (ssl.key.password must be unset)",
    );
  }
  const clientAuth = get("ssl.client.auth");
  if (clientAuth !== null && clientAuth.toLowerCase() !== "none") {
    throw new Error(`ssl.client.auth=${clientAuth} is not supported (client certificates are not verified); use none`);
  }
  let text = "";
  const location = get("ssl.keystore.location");
  if (location !== null) {
    const bytes = await fs.readFile(location);
    if (bytes === null) throw new Error(`ssl.keystore.location ${location} does not exist`);
    text = new TextDecoder().decode(bytes);
  }
  const inlineKey = get("ssl.keystore.key");
  const inlineChain = get("ssl.keystore.certificate.chain");
  if (inlineKey !== null) text += `\n${inlineKey}`;
  if (inlineChain !== null) text += `\n${inlineChain}`;
  if (text.trim() === "") {
    throw new Error(
      `a ${listenerName} listener needs ssl.keystore.location (a PEM file with the key and certificates) or ssl.keystore.key and ssl.keystore.certificate.chain`,
    );
  }
  const pem = splitPem(text);
  if (pem.encrypted) throw new Error("encrypted private keys are not supported: give an unencrypted PEM key");
  if (pem.keys.length !== 1) {
    throw new Error(`the PEM keystore must hold exactly one private key, found ${pem.keys.length}`);
  }
  if (pem.certs.length === 0) throw new Error("the PEM keystore holds no certificate");
  return { key: pem.keys[0], cert: pem.certs.join("\n") };
}
