/**
 * @peculiar/x509, ready to use: its decorators need the reflect-metadata
 * polyfill loaded first, and it signs through the WebCrypto provider it is
 * given, here node's. The provider is the library's own global; setting it to
 * the same object from every importer is harmless.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

/** ECDSA P-256 with SHA-256: every key and signature of the built-in CA. */
export const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
export const EC_SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
