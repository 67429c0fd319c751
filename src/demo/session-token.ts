import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock/index.js";

/**
 * Session tokens: `v1.<userId>.<expiresAtMs>.<hmac>`, HMAC-SHA256 over the
 * first three parts with a secret that `login` (which issues) and `gateway`
 * (which checks, without a network call) share.
 */
export interface SessionTokens {
  /** A token for `userId` that expires `ttlMs` from now. */
  issue(userId: string): string;
  /** The user id of a well-formed, correctly signed, unexpired token; undefined otherwise. */
  verify(token: string): { readonly userId: string } | undefined;
}

export interface SessionTokenOptions {
  readonly secret: string;
  readonly ttlMs: number;
  readonly clock: Clock;
}

const VERSION = "v1";
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function createSessionTokens(options: SessionTokenOptions): SessionTokens {
  const sign = (payload: string): string => createHmac("sha256", options.secret).update(payload).digest("base64url");
  return {
    issue(userId) {
      if (!USER_ID.test(userId)) throw new RangeError(`user id ${JSON.stringify(userId)} must be 1-64 characters of [A-Za-z0-9_-]`);
      const payload = `${VERSION}.${userId}.${options.clock.now() + options.ttlMs}`;
      return `${payload}.${sign(payload)}`;
    },
    verify(token) {
      const parts = token.split(".");
      if (parts.length !== 4) return undefined;
      const [version, userId = "", expires = "", signature = ""] = parts;
      if (version !== VERSION || !USER_ID.test(userId) || !/^\d{1,16}$/.test(expires)) return undefined;
      const expected = Buffer.from(sign(`${version}.${userId}.${expires}`));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      return Number(expires) > options.clock.now() ? { userId } : undefined;
    },
  };
}
