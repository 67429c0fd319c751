import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Every token starts with it, so a leaked one is easy to recognise (secret scanners, logs). */
export const TOKEN_PREFIX = "smt_";

/** `smt_` and 32 random bytes, base64url: 256 bits of entropy. */
export function newTokenSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/**
 * Lower-case hex SHA-256 of a token: what the store keeps instead of the
 * secret. A plain, fast hash is enough here (no salt, no slow KDF): the
 * secret is 256 random bits, not a password, so neither a dictionary nor
 * brute force can find a preimage of a leaked hash, and each request is
 * checked with one cheap hash.
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Constant-time equality of two hex SHA-256 hashes. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right);
}
