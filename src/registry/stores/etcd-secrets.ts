import type { Etcd3 } from "etcd3";
import type { Secrets } from "../store.js";
import { op, rangeAt, txn } from "./etcd-kv.js";

/**
 * Secrets (store.ts) under `<prefix>secrets/<name>`, shared by every replica.
 * `putIfAbsent` is one txn: put when the key does not exist (mod revision 0),
 * else read it, so of replicas racing on one name etcd picks the first and
 * every one of them gets its value.
 */
export function createEtcdSecrets(client: Etcd3, prefix: string, ensureOpen: () => void, failure: (what: string, err: unknown) => Error): Secrets {
  const keyOf = (name: string): string => `${prefix}secrets/${name}`;
  return {
    async get(name) {
      ensureOpen();
      try {
        const response = await txn(client, [op.get(keyOf(name))]);
        return rangeAt(response, 0)[0]?.value.toString("utf8");
      } catch (err) {
        throw failure("secret read", err);
      }
    },
    async putIfAbsent(name, value) {
      ensureOpen();
      const key = keyOf(name);
      try {
        const written = await txn(client, [op.put(key, value)], [{ key, modRevision: 0 }]);
        if (written.succeeded) return value;
        const response = await txn(client, [op.get(key)]);
        const stored = rangeAt(response, 0)[0];
        // Secrets are never deleted, so a key that existed a moment ago still does.
        if (!stored) throw new Error(`secret ${name} vanished between two reads`);
        return stored.value.toString("utf8");
      } catch (err) {
        throw failure("secret write", err);
      }
    },
  };
}
