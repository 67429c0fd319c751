import { hostname } from "node:os";
import type { Etcd3 } from "etcd3";
import { UnavailableError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";

/** How long a replica's claim outlives its process when it dies without releasing it. */
export const REPLICA_LEASE_SECONDS = 10;

/** A replica's claim on its id; released on close. */
export interface ReplicaClaim {
  release(): Promise<void>;
}

/**
 * Claims `key` (`<prefix>replicas/<id>/owner`) under an etcd lease kept alive
 * while this process runs, so that two live processes never share one
 * replica's generation log. A claim left by a process that died expires with
 * its lease: the claim is retried for one lease period before giving up with
 * an UnavailableError that says what to do.
 */
export async function claimReplica(client: Etcd3, key: string, replica: string, logger: Logger, waitMs = (REPLICA_LEASE_SECONDS + 2) * 1000): Promise<ReplicaClaim> {
  const giveUpAt = Date.now() + waitMs;
  const owner = JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString() });
  for (let attempt = 1; ; attempt++) {
    const lease = client.lease(REPLICA_LEASE_SECONDS);
    const leaseId = await lease.grant();
    const result = await client.if(key, "Create", "==", 0).then(client.put(key).value(owner).lease(leaseId)).commit();
    if (result.succeeded) {
      lease.on("lost", (err) => logger.error({ replica, err: err.message }, "lost the etcd lease on this replica's id; another process may claim it"));
      return { release: () => lease.revoke() };
    }
    await lease.revoke();
    if (Date.now() > giveUpAt) {
      throw new UnavailableError(`replica id "${replica}" is in use by another steadymesh serve on this etcd; give each replica its own --replica-id`);
    }
    if (attempt === 1) logger.warn({ replica, waitSeconds: REPLICA_LEASE_SECONDS }, "replica id is claimed; waiting in case its previous process died");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
