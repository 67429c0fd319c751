/**
 * One admin API token as the store keeps it: never the secret, only its
 * SHA-256. Records are immutable once created; a token is revoked by
 * deleting it.
 */
export interface TokenRecord {
  /** Unique; a DNS label. */
  readonly name: string;
  /** `read`, `write`, `operator` or `identity:<service>`; the store keeps it as given (src/auth checks it). */
  readonly scope: string;
  /** Lower-case hex SHA-256 of the secret; unique. */
  readonly hash: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** Milliseconds since the epoch; absent for a token that never expires. */
  readonly expiresAt?: number;
}

/**
 * Admin API tokens, kept beside the registry in the same backend so that
 * every replica of a shared store (etcd) sees the same tokens. Not part of
 * the registry: a token write makes no registry revision. Contract (the
 * shared suite in test/unit/token-store-contract.ts, for every backend):
 * - create refuses a name or a hash that is already taken with
 *   ConflictError, and stores nothing then;
 * - findByHash and list hand out frozen copies; list is in name order;
 * - revoke deletes by name and says whether there was one;
 * - every method throws UnavailableError once the backend is closed or fails.
 */
export interface TokenStore {
  create(record: TokenRecord): Promise<void>;
  findByHash(hash: string): Promise<TokenRecord | undefined>;
  list(): Promise<readonly TokenRecord[]>;
  revoke(name: string): Promise<boolean>;
}

/** A frozen copy with only the record's own fields. */
export function freezeTokenRecord(record: TokenRecord): TokenRecord {
  const { name, scope, hash, createdAt, expiresAt } = record;
  return Object.freeze({ name, scope, hash, createdAt, ...(expiresAt !== undefined && { expiresAt }) });
}
