import { createPrivateKey, webcrypto } from "node:crypto";
import { ValidationError } from "../errors/index.js";
import { EC_KEY, x509 } from "./x509.js";

type KeyPair = webcrypto.CryptoKeyPair;

/** A fresh ECDSA P-256 key pair; the private key is extractable so it can be written as PEM. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as unknown as KeyPair as CryptoKeyPair;
}

/** The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), what gRPC and curl read. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key as unknown as webcrypto.CryptoKey);
  return `${x509.PemConverter.encode(der, "PRIVATE KEY")}\n`;
}

/**
 * Reads an ECDSA P-256 private key from PEM, PKCS#8 or SEC1
 * (`EC PRIVATE KEY`), as a signing key. Throws ValidationError on `path`
 * for anything else; the message never quotes the key.
 */
export async function importPrivateKey(pem: string, path: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
      throw new Error(`a ${key.asymmetricKeyType ?? "unknown"} key`);
    }
    der = key.export({ type: "pkcs8", format: "der" });
  } catch (err) {
    const reason = err instanceof Error && err.message.startsWith("a ") ? `, got ${err.message}` : "";
    throw new ValidationError([{ path, message: `must be an ECDSA P-256 private key in PEM (PKCS#8 or SEC1)${reason}` }], { cause: err });
  }
  return (await webcrypto.subtle.importKey("pkcs8", der, EC_KEY, false, ["sign"])) as unknown as CryptoKey;
}
