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
    const lease = await tryClaim(client, key, owner);
    if (lease) return keepClaim(client, key, owner, replica, logger, lease);
    if (Date.now() > giveUpAt) {
      throw new UnavailableError(`replica id "${replica}" is in use by another steadymesh serve on this etcd; give each replica its own --replica-id`);
    }
    if (attempt === 1) logger.warn({ replica, waitSeconds: REPLICA_LEASE_SECONDS }, "replica id is claimed; waiting in case its previous process died");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

type Lease = ReturnType<Etcd3["lease"]>;

/**
 * One attempt: the lease holding `key`, or undefined when another process
 * holds it.
 *
 * Not etcd3's Lock or Election, although this is what Lock.acquire does (a
 * lease, then `put` if the key was never created): Lock keeps its lease
 * private, so its loss, which keepClaim must see to claim the id again, is
 * not observable, and it writes an empty value where this writes who holds
 * the id (host, pid, since). Election queues a second process with the same
 * id until the first resigns or dies, where this refuses it, and it keeps
 * its keys as `election/<name>/<lease>`, not `replicas/<id>/owner`, the keys
 * that the live-replica watch (etcd-liveness.ts) follows.
 */
async function tryClaim(client: Etcd3, key: string, owner: string): Promise<Lease | undefined> {
  const lease = client.lease(REPLICA_LEASE_SECONDS);
  const leaseId = await lease.grant();
  const result = await client.if(key, "Create", "==", 0).then(client.put(key).value(owner).lease(leaseId)).commit();
  if (result.succeeded) return lease;
  await lease.revoke();
  return undefined;
}

/**
 * Keeps the claim: when its lease is lost (etcd unreachable for longer than
 * the lease), the other replicas see this one as gone and take over its
 * health checks; this one claims its id again every 2 s until it holds it,
 * and rejoins.
 */
function keepClaim(client: Etcd3, key: string, owner: string, replica: string, logger: Logger, first: Lease): ReplicaClaim {
  let lease = first;
  let released = false;
  let retry: NodeJS.Timeout | undefined;
  const watchLoss = (held: Lease): void => {
    held.on("lost", (err) => {
      if (released) return;
      logger.error({ replica, err: err.message }, "lost the etcd lease on this replica's id; claiming it again");
      retry = setTimeout(reclaim, 2000);
    });
  };
  const reclaim = (): void => {
    retry = undefined;
    if (released) return;
    tryClaim(client, key, owner).then(
      (next) => {
        if (released) return void next?.revoke();
        if (!next) {
          // Held by a process that took the id while this one was cut off: keep trying; that one's lease decides.
          retry = setTimeout(reclaim, 2000);
          return;
        }
        lease = next;
        watchLoss(next);
        logger.info({ replica }, "claimed this replica's id again");
      },
      (err: unknown) => {
        logger.debug({ replica, err }, "claiming the replica id again failed; retrying");
        retry = setTimeout(reclaim, 2000);
      },
    );
  };
  watchLoss(first);
  return {
    release: async () => {
      released = true;
      if (retry) clearTimeout(retry);
      await lease.revoke();
    },
  };
}
