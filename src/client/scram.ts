// SCRAM client (RFC 5802): the two client messages for a user and password. The primitives (Hi, HMAC, H)
// are the broker's own (broker/auth/sasl.ts), so client and server cannot compute a proof two ways.
import type { ScramMechanism } from "../broker/auth/sasl.ts";
import { digest, hmac, saltedPassword } from "../broker/auth/sasl.ts";

const enc = new TextEncoder();

export async function scramClient(mechanism: ScramMechanism, user: string, password: string) {
  const nonce = crypto.randomUUID().replace(/-/g, "");
  const name = user.replace(/=/g, "=3D").replace(/,/g, "=2C");
  const bare = `n=${name},r=${nonce}`;
  return {
    first: enc.encode(`n,,${bare}`),
    async final(serverFirst: string): Promise<Uint8Array> {
      const a = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
      if (!a.r?.startsWith(nonce)) throw new Error("SCRAM: the server's nonce does not extend ours");
      const salt = Uint8Array.from(atob(a.s), (c) => c.charCodeAt(0));
      const salted = await saltedPassword(mechanism, password, salt, Number(a.i));
      const clientKey = await hmac(mechanism, salted, enc.encode("Client Key"));
      const storedKey = await digest(mechanism, clientKey);
      const withoutProof = `c=biws,r=${a.r}`;
      const sig = await hmac(mechanism, storedKey, enc.encode(`${bare},${serverFirst},${withoutProof}`));
      let proof = "";
      for (let i = 0; i < clientKey.length; i++) proof += String.fromCharCode(clientKey[i] ^ sig[i]);
      return enc.encode(`${withoutProof},p=${btoa(proof)}`);
    },
  };
}
