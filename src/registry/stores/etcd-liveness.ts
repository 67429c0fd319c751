import type { Etcd3, Lease, Watcher } from "etcd3";
import type { Logger } from "../../log/index.js";
import type { Liveness, Members } from "../store.js";

/**
 * Heartbeats as etcd keys `<prefix>heartbeats/<service>/<id>`, each under a
 * lease of its own that is never kept alive, so the key vanishes when the TTL
 * lapses. These keys are outside the registry's keys and never touch its
 * commit key: a beat makes no registry commit and no snapshot.
 */
export function createEtcdLiveness(client: Etcd3, prefix: string, failure: (what: string, err: unknown) => Error): Liveness {
  const key = (service: string, id: string): string => `${prefix}heartbeats/${service}/${id}`;
  /** The lease this replica last put each heartbeat key under, with its TTL in seconds. */
  const leases = new Map<string, { readonly lease: Lease; readonly id: string; readonly seconds: number }>();

  /**
   * Renews `known` with a keepalive when it still holds the key: etcd keeps
   * lease renewals in the leader's memory, not in its raft log, so a beat
   * that changes nothing writes nothing to disk. False when the lease is gone
   * or another replica has since put the key under its own lease.
   */
  async function renew(k: string, known: { readonly lease: Lease; readonly id: string }): Promise<boolean> {
    try {
      const [renewed, current] = await Promise.all([known.lease.keepaliveOnce(), client.get(k).exec()]);
      return Number(renewed.TTL) > 0 && current.kvs[0]?.lease === known.id;
    } catch {
      return false;
    }
  }

  return {
    async beat(service, id, ttlMs) {
      const k = key(service, id);
      const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
      const known = leases.get(k);
      if (known && known.seconds === seconds && (await renew(k, known))) return;
      try {
        // First beat here, a new TTL, or a lapsed or taken-over key: a new lease, and the key put under it.
        const lease = client.lease(seconds, { autoKeepAlive: false });
        await lease.put(k).value(String(Date.now()));
        leases.set(k, { lease, id: await lease.grant(), seconds });
      } catch (err) {
        leases.delete(k);
        throw failure("heartbeat", err);
      }
    },
    async alive(service, id) {
      try {
        return (await client.get(key(service, id)).string()) !== null;
      } catch (err) {
        throw failure("heartbeat read", err);
      }
    },
  };
}

/** The live replicas, and the watch that keeps them; `close` cancels the watch. */
export interface EtcdMembers extends Members {
  close(): Promise<void>;
}

const OWNER_KEY = /^([^/]+)\/owner$/;

/**
 * Follows `<prefix>replicas/<id>/owner`, the keys each replica holds under its
 * lease (etcd-replica.ts): a replica that dies leaves the set when its lease
 * expires. Reads the whole set when the watch (re)connects, so changes missed
 * while etcd was away are caught up. Resolves once the first read is done.
 * (etcd3's ElectionObserver follows one election's leader; this needs the
 * whole set of live replicas.)
 */
export async function watchEtcdMembers(client: Etcd3, prefix: string, self: string, logger: Logger): Promise<EtcdMembers> {
  const replicas = `${prefix}replicas/`;
  const listeners = new Set<() => void>();
  let current: readonly string[] = [self];
  const publish = (ids: Iterable<string>): void => {
    const next = [...new Set([self, ...ids])].sort();
    if (next.length === current.length && next.every((id, i) => id === current[i])) return;
    logger.info({ replicas: next }, "live replicas changed");
    current = next;
    for (const listener of listeners) listener();
  };
  const replicaOf = (key: string): string | undefined => OWNER_KEY.exec(key.slice(replicas.length))?.[1];
  const reload = async (): Promise<void> => {
    const keys = await client.getAll().prefix(replicas).keys();
    publish(keys.map(replicaOf).filter((id): id is string => id !== undefined));
  };
  await reload();
  const watcher: Watcher = await client.watch().prefix(replicas).create();
  watcher.on("put", (kv) => {
    const id = replicaOf(kv.key.toString());
    if (id !== undefined && !current.includes(id)) publish([...current, id]);
  });
  watcher.on("delete", (kv) => {
    const id = replicaOf(kv.key.toString());
    if (id !== undefined && id !== self) publish(current.filter((member) => member !== id));
  });
  watcher.on("connected", () => {
    reload().catch((err: unknown) => logger.warn({ err }, "re-reading live replicas after the watch reconnected failed; the watch keeps them from now on"));
  });
  watcher.on("error", (err) => logger.warn({ err: err.message }, "live replicas watch error; etcd3 reconnects it"));
  return {
    self,
    list: () => current,
    onChange(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    async close() {
      listeners.clear();
      await watcher.cancel();
    },
  };
}
