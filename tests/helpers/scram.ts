// A SCRAM client (RFC 5802) for wire tests: the two client messages for a user and password.
import type { ScramMechanism } from "../../src/broker/auth/sasl.ts";
import { saltedPassword } from "../../src/broker/auth/sasl.ts";

const enc = new TextEncoder();

export async function scramClient(mechanism: ScramMechanism, user: string, password: string) {
  const hash = mechanism === "SCRAM-SHA-256" ? "SHA-256" : "SHA-512";
  const nonce = crypto.randomUUID().replace(/-/g, "");
  const bare = `n=${user},r=${nonce}`;
  const hmac = async (key: Uint8Array, data: string) =>
    new Uint8Array(
      await crypto.subtle.sign(
        "HMAC",
        await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]),
        enc.encode(data),
      ),
    );
  return {
    first: enc.encode(`n,,${bare}`),
    async final(serverFirst: string) {
      const a = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
      const salted = await saltedPassword(
        mechanism,
        password,
        Uint8Array.from(atob(a.s), (c) => c.charCodeAt(0)),
        Number(a.i),
      );
      const clientKey = await hmac(salted, "Client Key");
      const storedKey = new Uint8Array(await crypto.subtle.digest(hash, clientKey));
      const withoutProof = `c=biws,r=${a.r}`;
      const sig = await hmac(storedKey, `${bare},${serverFirst},${withoutProof}`);
      return enc.encode(`${withoutProof},p=${btoa(String.fromCharCode(...clientKey.map((b, i) => b ^ sig[i])))}`);
    },
  };
}
