// SCRAM client (RFC 5802): the two client messages for a user and password, via Web Crypto.
import type { ScramMechanism } from "../broker/auth/sasl.ts";
import { saltedPassword } from "../broker/auth/sasl.ts";

const enc = new TextEncoder();

export async function scramClient(mechanism: ScramMechanism, user: string, password: string) {
  const hash = mechanism === "SCRAM-SHA-256" ? "SHA-256" : "SHA-512";
  const nonce = crypto.randomUUID().replace(/-/g, "");
  const name = user.replace(/=/g, "=3D").replace(/,/g, "=2C");
  const bare = `n=${name},r=${nonce}`;
  const hmac = async (key: Uint8Array, data: string) =>
    new Uint8Array(
      await crypto.subtle.sign(
        "HMAC",
        await crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, { name: "HMAC", hash }, false, ["sign"]),
        enc.encode(data),
      ),
    );
  return {
    first: enc.encode(`n,,${bare}`),
    async final(serverFirst: string): Promise<Uint8Array> {
      const a = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
      if (!a.r?.startsWith(nonce)) throw new Error("SCRAM: the server's nonce does not extend ours");
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
      let proof = "";
      for (let i = 0; i < clientKey.length; i++) proof += String.fromCharCode(clientKey[i] ^ sig[i]);
      return enc.encode(`${withoutProof},p=${btoa(proof)}`);
    },
  };
}
