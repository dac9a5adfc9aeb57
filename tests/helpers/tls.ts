// A self-signed certificate for localhost / 127.0.0.1, made with openssl for a test run, and a
// PEM keystore (key + certificate) as ssl.keystore.location takes it.
import { readFileSync, writeFileSync } from "node:fs";

/** Writes key.pem, cert.pem and keystore.pem into `dir`; returns the certificate's and the keystore's paths. */
export async function makeCertificate(dir: string): Promise<{ cert: string; keystore: string; key: string }> {
  const key = `${dir}/key.pem`;
  const cert = `${dir}/cert.pem`;
  const keystore = `${dir}/keystore.pem`;
  const p = Bun.spawn([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ], { stdout: "pipe", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`openssl failed: ${err}`);
  writeFileSync(keystore, readFileSync(key, "utf8") + readFileSync(cert, "utf8"));
  return { cert, keystore, key };
}
