import { ConflictError } from "../../errors/index.js";
import { freezeTokenRecord, type TokenRecord, type TokenStore } from "../token-store.js";

/** Tokens in this process only (`serve --store memory`): gone on exit, like the rest of the memory store. */
export function createMemoryTokenStore(ensureOpen: () => void): TokenStore {
  const byName = new Map<string, TokenRecord>();
  const byHash = new Map<string, TokenRecord>();
  return {
    async create(record) {
      ensureOpen();
      if (byName.has(record.name)) throw new ConflictError(`a token named "${record.name}" already exists`);
      if (byHash.has(record.hash)) throw new ConflictError("a token with that secret already exists");
      const frozen = freezeTokenRecord(record);
      byName.set(frozen.name, frozen);
      byHash.set(frozen.hash, frozen);
    },
    async findByHash(hash) {
      ensureOpen();
      return byHash.get(hash);
    },
    async list() {
      ensureOpen();
      return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async revoke(name) {
      ensureOpen();
      const record = byName.get(name);
      if (!record) return false;
      byName.delete(name);
      byHash.delete(record.hash);
      return true;
    },
  };
}
