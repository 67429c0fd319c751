import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The users the accounts service knows: `user0`…`user{N-1}`, the password of `user<i>`
 * is `pw-<i>` and its id `uid-<i>`. Deterministic, so every instance holds
 * the same users and any client may ask any of them.
 */
export interface UserTable {
  readonly size: number;
  lookup(user: string): { readonly userId: string; readonly passwordHash: string } | undefined;
  checkPassword(user: string, password: string): boolean;
}

/** The credentials of demo user `index`: what a virtual user types to log in. */
export function demoCredentials(index: number): { readonly user: string; readonly password: string } {
  return { user: `user${index}`, password: `pw-${index}` };
}

/** sha256 of the user name and the password, hex: cheap, as a demo should be, and still not the password itself. */
export function hashPassword(user: string, password: string): string {
  return createHash("sha256").update(`steadymesh-demo:${user}:${password}`).digest("hex");
}

/** The demo's users; `count` is 1–1 000 000. */
export function createUserTable(count: number): UserTable {
  if (!Number.isInteger(count) || count < 1 || count > 1_000_000) throw new RangeError(`user count must be an integer from 1 to 1000000, got ${count}`);
  const indexOf = (user: string): number | undefined => {
    const match = /^user(0|[1-9]\d*)$/.exec(user);
    const index = match ? Number(match[1]) : Number.NaN;
    return index < count ? index : undefined;
  };
  const lookup = (user: string) => {
    const index = indexOf(user);
    return index === undefined ? undefined : { userId: `uid-${index}`, passwordHash: hashPassword(user, demoCredentials(index).password) };
  };
  return {
    size: count,
    lookup,
    checkPassword(user, password) {
      const entry = lookup(user);
      if (!entry) return false;
      return timingSafeEqual(Buffer.from(hashPassword(user, password)), Buffer.from(entry.passwordHash));
    },
  };
}
