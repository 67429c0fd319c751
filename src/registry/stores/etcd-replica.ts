import { hostname } from "node:os";
import type { Etcd3 } from "etcd3";
import type { Clock } from "../../clock/index.js";
import { UnavailableError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";

/** How long a replica's claim outlives its process when it dies without releasing it. */
export const REPLICA_LEASE_SECONDS = 10;

/** Between two attempts at a claim another process holds, at open. */
const CLAIM_RETRY_MS = 1000;
/** Between two attempts to claim the id again after its lease was lost. */
const RECLAIM_RETRY_MS = 2000;

/** A replica's claim on its id; released on close. */
export interface ReplicaClaim {
  release(): Promise<void>;
}

/**
 * Claims `key` (`<prefix>replicas/<id>/owner`) under an etcd lease kept alive
 * while this process runs, so that two live processes never share one
 * replica's generation log. A claim left by a process that died expires with
 * its lease: the claim is retried for one lease period before giving up with
 * an UnavailableError that says what to do. Every wait is on `clock`.
 */
export async function claimReplica(client: Etcd3, key: string, replica: string, logger: Logger, clock: Clock, waitMs = (REPLICA_LEASE_SECONDS + 2) * 1000): Promise<ReplicaClaim> {
  const giveUpAt = clock.now() + waitMs;
  const owner = JSON.stringify({ host: hostname(), pid: process.pid, since: new Date(clock.now()).toISOString() });
  for (let attempt = 1; ; attempt++) {
    const lease = await tryClaim(client, key, owner);
    if (lease) return keepClaim({ client, key, owner, replica, logger, clock }, lease);
    if (clock.now() > giveUpAt) {
      throw new UnavailableError(`replica id "${replica}" is in use by another steadymesh serve on this etcd; give each replica its own --replica-id`);
    }
    if (attempt === 1) logger.warn({ replica, waitSeconds: REPLICA_LEASE_SECONDS }, "replica id is claimed; waiting in case its previous process died");
    await new Promise<void>((resolve) => clock.setTimeout(resolve, CLAIM_RETRY_MS));
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
function keepClaim(claim: { client: Etcd3; key: string; owner: string; replica: string; logger: Logger; clock: Clock }, first: Lease): ReplicaClaim {
  const { client, key, owner, replica, logger, clock } = claim;
  let lease = first;
  let released = false;
  let cancelRetry: (() => void) | undefined;
  const retryLater = (): void => {
    cancelRetry = clock.setTimeout(reclaim, RECLAIM_RETRY_MS);
  };
  const watchLoss = (held: Lease): void => {
    held.on("lost", (err) => {
      if (released) return;
      logger.error({ replica, err: err.message }, "lost the etcd lease on this replica's id; claiming it again");
      retryLater();
    });
  };
  const reclaim = (): void => {
    cancelRetry = undefined;
    if (released) return;
    tryClaim(client, key, owner).then(
      (next) => {
        if (released) return void next?.revoke();
        if (!next) {
          // Held by a process that took the id while this one was cut off: keep trying; that one's lease decides.
          retryLater();
          return;
        }
        lease = next;
        watchLoss(next);
        logger.info({ replica }, "claimed this replica's id again");
      },
      (err: unknown) => {
        logger.debug({ replica, err }, "claiming the replica id again failed; retrying");
        retryLater();
      },
    );
  };
  watchLoss(first);
  return {
    release: async () => {
      released = true;
      cancelRetry?.();
      await lease.revoke();
    },
  };
}
