import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock/index.js";

/** The most sessions kept at once; opening one more drops the oldest. */
export const MAX_SESSIONS = 10_000;
/** A session ends 8 h after login, whatever its use; the token itself is checked again on every request. */
export const SESSION_MAX_AGE_MS = 8 * 60 * 60 * 1000;

/** One console login: the cookie's id, its CSRF token, and the admin token it stands for. */
export interface Session {
  /** 32 random bytes, base64url: the `steadymesh_session` cookie. */
  readonly id: string;
  /** 32 random bytes, base64url: what `X-CSRF-Token` must carry on POST, PUT and DELETE. */
  readonly csrf: string;
  /** The admin token, kept in memory only, so every request can verify it again (revoked or expired ends the session). */
  readonly token: string;
  readonly createdAt: number;
}

/**
 * The console's sessions, in memory: a restart logs everyone out, which is
 * the safe side for a tool that holds admin tokens. Bounded in count and age.
 */
export interface SessionBook {
  open(token: string): Session;
  /** The live session of a cookie value; undefined for unknown and expired ones (an expired one is dropped). */
  get(id: string): Session | undefined;
  close(id: string): void;
  readonly size: number;
}

export interface SessionBookOptions {
  readonly clock?: Pick<Clock, "now">;
  readonly maxSessions?: number;
  readonly maxAgeMs?: number;
}

export function createSessionBook(options: SessionBookOptions = {}): SessionBook {
  const now = options.clock ? () => options.clock!.now() : () => Date.now();
  const maxSessions = options.maxSessions ?? MAX_SESSIONS;
  const maxAgeMs = options.maxAgeMs ?? SESSION_MAX_AGE_MS;
  // Insertion order is age order: the first key is the oldest session.
  const sessions = new Map<string, Session>();

  return {
    open(token) {
      while (sessions.size >= maxSessions) {
        const oldest = sessions.keys().next().value;
        if (oldest === undefined) break;
        sessions.delete(oldest);
      }
      const session: Session = { id: randomId(), csrf: randomId(), token, createdAt: now() };
      sessions.set(session.id, session);
      return session;
    },
    get(id) {
      const session = sessions.get(id);
      if (session === undefined) return undefined;
      if (now() - session.createdAt >= maxAgeMs) {
        sessions.delete(id);
        return undefined;
      }
      return session;
    },
    close(id) {
      sessions.delete(id);
    },
    get size() {
      return sessions.size;
    },
  };
}

/**
 * True when `offered` is the session's CSRF token. Both sides are hashed
 * first so the compare is constant-time whatever the offered length.
 */
export function csrfMatches(session: Session, offered: string | undefined): boolean {
  if (offered === undefined || offered === "") return false;
  return timingSafeEqual(digest(session.csrf), digest(offered));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function randomId(): string {
  return randomBytes(32).toString("base64url");
}
