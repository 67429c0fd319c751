import type { Etcd3 } from "etcd3";
import { UnavailableError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import { commitPoint, parseInstance, type RegistryKeys } from "./etcd-commit.js";
import { op, rangeAt, txn } from "./etcd-kv.js";

/** Index entries written per txn while building; below etcd's 128 operations. */
const CHUNK = 120;
const MAX_ATTEMPTS = 20;

/**
 * Builds the endpoint index (RegistryKeys.endpoint) of a registry written
 * before it existed, once, when a replica opens the store: an entry for every
 * instance, in txns guarded by the commit key, then the `endpoint-index`
 * key that says it is complete. A commit landing meanwhile fails the guard
 * and the build starts over from a fresh read (commits keep the index
 * themselves, so what was written stays right). An empty prefix only gets
 * the marker. Every replica on the prefix must run a steadymesh that keeps
 * the index (and reads commit records of format 2) before any of them
 * writes. Throws UnavailableError when commits keep landing first.
 */
export async function ensureEndpointIndex(client: Etcd3, keys: RegistryKeys, logger: Logger): Promise<void> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const read = await txn(client, [op.get(keys.commit), op.get(keys.endpointIndexReady), op.range(keys.instances)]);
    if (rangeAt(read, 1).length > 0) return;
    const guard = [{ key: keys.commit, modRevision: commitPoint(rangeAt(read, 0)[0]).modRevision }];
    const entries = rangeAt(read, 2).map(parseInstance).map((i) => op.put(`${keys.endpoint(i.service, i.address, i.port)}${i.id}`, i.id));
    if (entries.length > 0) logger.info({ instances: entries.length }, "building the etcd endpoint index for a registry written before it");
    let landed = true;
    for (let i = 0; i < entries.length && landed; i += CHUNK) landed = (await txn(client, entries.slice(i, i + CHUNK), guard)).succeeded;
    if (landed && (await txn(client, [op.put(keys.endpointIndexReady, "1")], guard)).succeeded) return;
    logger.debug({ attempt }, "a commit landed while the endpoint index was built; building again");
  }
  throw new UnavailableError(`the etcd endpoint index could not be built in ${MAX_ATTEMPTS} tries: commits kept landing first`);
}
