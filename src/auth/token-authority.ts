import { randomBytes } from "node:crypto";
import type { Clock } from "../clock/index.js";
import { NotFoundError, SteadyError, UnauthenticatedError, ValidationError, show, type Issue } from "../errors/index.js";
import type { TokenRecord, TokenStore } from "../registry/index.js";
import { parseScope, type Scope } from "./scopes.js";
import { hashToken, newTokenSecret, sameHash, TOKEN_PREFIX } from "./token-secret.js";

/** The longest `ttlMs` a token may have: ten years. */
export const MAX_TOKEN_TTL_MS = 10 * 365 * 24 * 3600 * 1000;
/** The shortest: one second. */
export const MIN_TOKEN_TTL_MS = 1000;

/**
 * How long a verified token is taken without asking the store again. With
 * a shared store (etcd) that is what a revoke on another replica may take to
 * reach this one; a revoke here takes effect at once. While the store cannot
 * be reached, a token verified before stays good, so an operator can still
 * read the registry during an etcd outage (no revoke can happen then either).
 */
export const VERIFIED_FRESH_MS = 5000;

/** A new token: the only time its secret is shown. */
export interface IssuedToken {
  readonly name: string;
  readonly scope: Scope;
  readonly token: string;
  /** ISO 8601; absent when it never expires. */
  readonly expiresAt?: string;
}

/** A token as `GET /v1/tokens` shows it: never its secret or hash. */
export interface TokenInfo {
  readonly name: string;
  readonly scope: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly expired: boolean;
}

/** Who made a request: the token's name and scope. */
export interface Principal {
  readonly name: string;
  readonly scope: Scope;
}

/** What `POST /v1/tokens` takes. */
export interface TokenRequest {
  readonly scope: Scope;
  readonly name?: string;
  readonly ttlMs?: number;
}

/** Issues, lists, revokes and checks admin API tokens over a TokenStore. */
export interface TokenAuthority {
  /** ValidationError for a bad request, ConflictError for a taken name. */
  issue(request: TokenRequest): Promise<IssuedToken>;
  list(): Promise<readonly TokenInfo[]>;
  /** NotFoundError when no token has that name. */
  revoke(name: string): Promise<void>;
  /** The token's principal; UnauthenticatedError (saying why, never echoing the token) when it is unknown or expired. */
  verify(token: string): Promise<Principal>;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const REQUEST_FIELDS = ["scope", "name", "ttlMs"];
/** What a token looks like; anything else is refused without a store lookup. */
const TOKEN_SHAPE = new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`);

/** Validates a `POST /v1/tokens` body, reporting every bad field at once. */
export function parseTokenRequest(body: unknown): TokenRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError([{ path: "body", message: `must be a JSON object with scope and optional name and ttlMs, got ${show(body)}` }]);
  }
  const raw = body as Record<string, unknown>;
  const issues: Issue[] = [];
  for (const key of Object.keys(raw)) if (!REQUEST_FIELDS.includes(key)) issues.push({ path: key, message: `unknown field; allowed are ${REQUEST_FIELDS.join(", ")}` });
  let scope: Scope | undefined;
  try {
    scope = parseScope(raw.scope);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.push(...err.issues);
  }
  const { name, ttlMs } = raw;
  if (name !== undefined && !(typeof name === "string" && DNS_LABEL.test(name))) {
    issues.push({ path: "name", message: `must be a DNS label ([a-z0-9-], 1-63 characters), got ${show(name)}` });
  }
  if (ttlMs !== undefined && !(typeof ttlMs === "number" && Number.isSafeInteger(ttlMs) && ttlMs >= MIN_TOKEN_TTL_MS && ttlMs <= MAX_TOKEN_TTL_MS)) {
    issues.push({ path: "ttlMs", message: `must be an integer from ${MIN_TOKEN_TTL_MS} to ${MAX_TOKEN_TTL_MS} (10 years), got ${show(ttlMs)}` });
  }
  if (issues.length > 0 || scope === undefined) throw new ValidationError(issues);
  return { scope, ...(name !== undefined && { name: name as string }), ...(ttlMs !== undefined && { ttlMs: ttlMs as number }) };
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function createTokenAuthority(deps: { readonly tokens: TokenStore; readonly clock: Clock }): TokenAuthority {
  const { tokens, clock } = deps;
  /** Tokens found in the store, by hash, with when; only valid ones, so at most one entry per stored token. */
  const verified = new Map<string, { readonly record: TokenRecord; readonly at: number }>();

  /** The stored record of `hash`: from `verified` while fresh, else from the store, else (store unavailable) from `verified`. */
  async function lookUp(hash: string): Promise<TokenRecord | undefined> {
    const known = verified.get(hash);
    if (known && clock.now() - known.at < VERIFIED_FRESH_MS) return known.record;
    let record: TokenRecord | undefined;
    try {
      // The lookup key is a SHA-256 of 256 random bits, so whatever its timing reveals is about a hash no one can invert.
      record = await tokens.findByHash(hash);
    } catch (err) {
      if (known && err instanceof SteadyError && err.code === "unavailable") return known.record;
      throw err;
    }
    if (record) verified.set(hash, { record, at: clock.now() });
    else verified.delete(hash);
    return record;
  }

  return {
    async issue(request) {
      const token = newTokenSecret();
      const createdAt = clock.now();
      const record: TokenRecord = {
        name: request.name ?? `token-${randomBytes(4).toString("hex")}`,
        scope: request.scope,
        hash: hashToken(token),
        createdAt,
        ...(request.ttlMs !== undefined && { expiresAt: createdAt + request.ttlMs }),
      };
      await tokens.create(record);
      return { name: record.name, scope: request.scope, token, ...(record.expiresAt !== undefined && { expiresAt: iso(record.expiresAt) }) };
    },
    async list() {
      const now = clock.now();
      return (await tokens.list()).map((record) => ({
        name: record.name,
        scope: record.scope,
        createdAt: iso(record.createdAt),
        ...(record.expiresAt !== undefined && { expiresAt: iso(record.expiresAt) }),
        expired: record.expiresAt !== undefined && record.expiresAt <= now,
      }));
    },
    async revoke(name) {
      const revoked = await tokens.revoke(name);
      for (const [hash, entry] of verified) if (entry.record.name === name) verified.delete(hash);
      if (!revoked) throw new NotFoundError(`no token named ${show(name)}; 'steadymesh token list' shows them`);
    },
    async verify(token) {
      if (!TOKEN_SHAPE.test(token)) throw new UnauthenticatedError("invalid token: not a steadymesh token (smt_ followed by 43 characters)");
      const hash = hashToken(token);
      const record = await lookUp(hash);
      // The full digest, compared in constant time.
      if (!record || !sameHash(record.hash, hash)) throw new UnauthenticatedError("invalid token: no such token (revoked, or never issued by this control plane)");
      if (record.expiresAt !== undefined && record.expiresAt <= clock.now()) {
        throw new UnauthenticatedError(`token ${show(record.name)} expired at ${iso(record.expiresAt)}; ask an operator for a new one`);
      }
      return { name: record.name, scope: parseScope(record.scope) };
    },
  };
}
