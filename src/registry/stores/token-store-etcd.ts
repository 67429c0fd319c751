import type { Etcd3 } from "etcd3";
import { ConflictError } from "../../errors/index.js";
import { freezeTokenRecord, type TokenRecord, type TokenStore } from "../token-store.js";
import { op, rangeAt, revisionOf, txn } from "./etcd-kv.js";

interface EtcdTokenOptions {
  readonly client: Etcd3;
  /** The store's prefix, e.g. `/steadymesh/`; tokens go under `<prefix>tokens/`. */
  readonly prefix: string;
  readonly ensureOpen: () => void;
  readonly failure: (what: string, err: unknown) => Error;
}

/**
 * Tokens shared by every replica on one prefix: the record as JSON under
 * `tokens/by-name/<name>` and, for the lookup of each request, the same
 * JSON under `tokens/by-hash/<hash>`. Records never change after create, so
 * the two copies cannot diverge; both are written and deleted in one txn,
 * guarded so two replicas cannot take one name.
 */
export function createEtcdTokenStore(options: EtcdTokenOptions): TokenStore {
  const { client, ensureOpen, failure } = options;
  const nameKey = (name: string): string => `${options.prefix}tokens/by-name/${name}`;
  const hashKey = (hash: string): string => `${options.prefix}tokens/by-hash/${hash}`;
  const parse = (value: Buffer): TokenRecord => freezeTokenRecord(JSON.parse(value.toString("utf8")) as TokenRecord);
  async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    ensureOpen();
    try {
      return await fn();
    } catch (err) {
      throw failure(what, err);
    }
  }
  return {
    create: (record) =>
      call("token create", async () => {
        const frozen = freezeTokenRecord(record);
        const json = JSON.stringify(frozen);
        const guards = [{ key: nameKey(frozen.name), modRevision: 0 }, { key: hashKey(frozen.hash), modRevision: 0 }];
        const response = await txn(client, [op.put(nameKey(frozen.name), json), op.put(hashKey(frozen.hash), json)], guards);
        if (response.succeeded) return;
        const taken = await txn(client, [op.get(nameKey(frozen.name))]);
        if (rangeAt(taken, 0).length > 0) throw new ConflictError(`a token named "${frozen.name}" already exists`);
        throw new ConflictError("a token with that secret already exists");
      }),
    findByHash: (hash) =>
      call("token read", async () => {
        const found = rangeAt(await txn(client, [op.get(hashKey(hash))]), 0)[0];
        return found && parse(found.value);
      }),
    list: (() =>
      call("token list", async () => {
        const kvs = rangeAt(await txn(client, [op.range(`${options.prefix}tokens/by-name/`)]), 0);
        return kvs.map((kv) => parse(kv.value)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      })),
    revoke: (name) =>
      call("token revoke", async () => {
        // Read, then delete both keys only if the name still holds what was read: a racing revoke deletes it once.
        for (;;) {
          const found = rangeAt(await txn(client, [op.get(nameKey(name))]), 0)[0];
          if (!found) return false;
          const record = parse(found.value);
          const guards = [{ key: nameKey(name), modRevision: revisionOf(found.mod_revision) }];
          const response = await txn(client, [op.delete(nameKey(name)), op.delete(hashKey(record.hash))], guards);
          if (response.succeeded) return true;
        }
      }),
  };
}
