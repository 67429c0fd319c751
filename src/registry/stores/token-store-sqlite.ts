import type Database from "better-sqlite3";
import { ConflictError } from "../../errors/index.js";
import { freezeTokenRecord, type TokenRecord, type TokenStore } from "../token-store.js";

/**
 * The tokens table, made on open like every table of the schema. An older
 * steadymesh ignores it, so it needs no schema version of its own.
 */
export const TOKEN_SCHEMA = `
  CREATE TABLE IF NOT EXISTS tokens (name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, value TEXT NOT NULL) STRICT;
`;

interface SqliteTokenOptions {
  readonly ensureOpen: () => void;
  readonly failure: (what: string, err: unknown) => Error;
}

/** Tokens in the registry's SQLite file, on the registry's connection. */
export function createSqliteTokenStore(db: Database.Database, options: SqliteTokenOptions): TokenStore {
  const { ensureOpen, failure } = options;
  const insert = db.prepare<[string, string, string]>("INSERT INTO tokens (name, hash, value) VALUES (?, ?, ?)");
  const byName = db.prepare<[string], number>("SELECT 1 FROM tokens WHERE name = ?").pluck();
  const byHash = db.prepare<[string], string>("SELECT value FROM tokens WHERE hash = ?").pluck();
  const all = db.prepare<[], string>("SELECT value FROM tokens ORDER BY name").pluck();
  const remove = db.prepare<[string]>("DELETE FROM tokens WHERE name = ?");
  const parse = (json: string): TokenRecord => freezeTokenRecord(JSON.parse(json) as TokenRecord);
  const run = <T>(what: string, fn: () => T): T => {
    ensureOpen();
    try {
      return fn();
    } catch (err) {
      throw failure(what, err);
    }
  };
  return {
    async create(record) {
      const frozen = freezeTokenRecord(record);
      run("token create", () => {
        if (byName.get(frozen.name) !== undefined) throw new ConflictError(`a token named "${frozen.name}" already exists`);
        if (byHash.get(frozen.hash) !== undefined) throw new ConflictError("a token with that secret already exists");
        insert.run(frozen.name, frozen.hash, JSON.stringify(frozen));
      });
    },
    findByHash: async (hash) => run("token read", () => {
      const json = byHash.get(hash);
      return json === undefined ? undefined : parse(json);
    }),
    list: async () => run("token list", () => all.all().map(parse)),
    revoke: async (name) => run("token revoke", () => remove.run(name).changes > 0),
  };
}
