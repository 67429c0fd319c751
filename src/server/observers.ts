import type { Clock } from "../clock/index.js";
import { UnavailableError } from "../errors/index.js";
import type { Metrics } from "../metrics/index.js";
import type { EventHub } from "../events/index.js";
import { HEALTH_STATES, type Store } from "../registry/index.js";
import type { ClientReply } from "../xds/index.js";

/**
 * `store` with its commits watched: `steadymesh_store_up` is 1 after a
 * commit succeeds (and from the start: the store just opened), 0 after one
 * fails with UnavailableError (etcd unreachable, store closed); each success
 * sets `steadymesh_store_last_commit_timestamp_seconds`. Other errors (a
 * validation error, a conflict) say nothing of the store's health.
 */
export function watchStoreHealth(store: Store, metrics: Metrics, clock: Clock): Store {
  metrics.storeUp.set(1);
  return {
    kind: store.kind,
    load: () => store.load(),
    watch: (onEvents) => store.watch(onEvents),
    close: () => store.close(),
    ...(store.commitStats && { commitStats: () => store.commitStats!() }),
    ...(store.liveness && { liveness: store.liveness }),
    ...(store.members && { members: store.members }),
    async commit(mutations) {
      try {
        const result = await store.commit(mutations);
        metrics.storeUp.set(1);
        metrics.storeLastCommit.set(clock.now() / 1000);
        return result;
      } catch (err) {
        if (err instanceof UnavailableError) metrics.storeUp.set(0);
        throw err;
      }
    },
  };
}

/**
 * Keeps `steadymesh_service_endpoints{service,health}` from the event hub's
 * per-service counts (src/events: one walk of the registry at start, then
 * each change's events; issue 15: nothing walks the registry per change),
 * so the registry's instances are counted once for the console and the
 * metrics. A series is removed when its count reaches 0. Returns unsubscribe.
 */
export function trackServiceEndpoints(counts: Pick<EventHub, "watchCounts">, metrics: Metrics): () => void {
  return counts.watchCounts((service, now) => {
    for (const health of HEALTH_STATES) {
      const n = now?.[health] ?? 0;
      if (n > 0) metrics.serviceEndpoints.set({ service, health }, n);
      else metrics.serviceEndpoints.remove({ service, health });
    }
  });
}

/** How many recent revisions keep their change time: a generation older than these is not measured. */
export const PROPAGATION_REVISIONS_KEPT = 64;

export interface PropagationTracker {
  /** The spine's word: the snapshot of `revision` holds changes that began at `changedAt` (clock ms). */
  changeBuilt(revision: number, changedAt: number): void;
  /** Every client ACK and NACK (the xDS server's replies). */
  onReply(reply: ClientReply): void;
}

/**
 * `steadymesh_push_propagation_seconds`: for each client (stream) and
 * generation, the time from the first registry change the generation holds
 * to the client's first ACK of a response tagged with it (not counting a
 * stream's first ACK of a type, its initial load). `revisionOf`
 * gives a generation's registry revision (the push guard's record). Only the
 * last PROPAGATION_REVISIONS_KEPT revisions are remembered, with the streams
 * already measured for each, so memory stays bounded.
 */
export function createPropagationTracker(deps: { metrics: Metrics; clock: Clock; revisionOf: (generation: number) => number | undefined }): PropagationTracker {
  const changes = new Map<number, { readonly at: number; readonly measured: Set<string> }>();
  return {
    changeBuilt(revision, changedAt) {
      changes.set(revision, { at: changedAt, measured: new Set() });
      if (changes.size > PROPAGATION_REVISIONS_KEPT) changes.delete(changes.keys().next().value!);
    },
    onReply(reply) {
      // A client's first ACK of a type is its initial load, however long after the change it connected: not a push it waited for.
      if (reply.nack || reply.tag === undefined || reply.initial) return;
      const revision = deps.revisionOf(reply.tag);
      const change = revision === undefined ? undefined : changes.get(revision);
      if (!change || change.measured.has(reply.streamId)) return;
      change.measured.add(reply.streamId);
      deps.metrics.pushPropagation.observe(Math.max(0, deps.clock.now() - change.at) / 1000);
    },
  };
}
