import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ApiKey, ed25519PublicKey, verifiedSignature } from "../src/keys.ts";

/** Signatures of both key types: only the exact payload with the right key verifies. */
const pair = generateKeyPairSync("ed25519");
const stranger = generateKeyPairSync("ed25519");
const pem = (p: typeof pair) => p.publicKey.export({ type: "spki", format: "pem" }).toString();
const ed: ApiKey = { apiKey: "e", type: "ED25519", publicKey: pem(pair), userId: 1, label: "" };
const hmac: ApiKey = { apiKey: "h", type: "HMAC", secretKey: "s3cret", userId: 1, label: "" };
const edSign = (payload: string, key = pair.privateKey) =>
  sign(null, Buffer.from(payload), key).toString("base64");
const hmacSign = (payload: string) => createHmac("sha256", "s3cret").update(payload).digest("hex");
const payload = fc.string({ unit: "binary", maxLength: 200 });

describe("API key signatures", () => {
  it("verify the payload signed, and no other payload (property)", () => {
    fc.assert(
      fc.property(payload, payload, (signedText, sent) => {
        for (const [key, signature] of [
          [ed, edSign(signedText)],
          [hmac, hmacSign(signedText)],
        ] as const) {
          const verified = verifiedSignature(key, sent, signature);
          if (sent === signedText) expect(verified).toHaveLength(32);
          else expect(verified).toBeUndefined();
        }
      }),
      { numRuns: 200 },
    );
  });

  it("refuse another key's signature, other spellings and other lengths; name a request by its signature", () => {
    const text = "symbol=BTCUSDT&timestamp=1";
    expect(verifiedSignature(ed, text, edSign(text, stranger.privateKey))).toBeUndefined();
    expect(verifiedSignature(ed, text, edSign(text).replace(/=+$/, ""))).toBeUndefined();
    expect(verifiedSignature(ed, text, hmacSign(text))).toBeUndefined();
    expect(verifiedSignature(hmac, text, edSign(text))).toBeUndefined();
    expect(verifiedSignature(hmac, text, hmacSign(text).slice(2))).toBeUndefined();
    // The same request is the same name (Ed25519 signs deterministically); HMAC's hex in any case.
    expect(verifiedSignature(ed, text, edSign(text))).toEqual(verifiedSignature(ed, text, edSign(text)));
    expect(verifiedSignature(hmac, text, hmacSign(text).toUpperCase())).toEqual(
      verifiedSignature(hmac, text, hmacSign(text)),
    );
  });

  it("take only Ed25519 public keys", () => {
    expect(ed25519PublicKey(pem(pair)).asymmetricKeyType).toBe("ed25519");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    expect(() => ed25519PublicKey(rsa.toString())).toThrow(/not an Ed25519 key/);
    expect(() => ed25519PublicKey("not a key")).toThrow(/not a PEM public key/);
  });
});
