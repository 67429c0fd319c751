import type { Clock } from "../clock/index.js";
import type { Generation } from "../guard/index.js";
import type { Logger } from "../log/index.js";
import { shortTypeName } from "../proto/index.js";
import type { ChangeEvent, Registry } from "../registry/index.js";
import type { ClientReply } from "../xds/index.js";
import { AckBooks, type AckBook } from "./ack-books.js";
import { NackWindow } from "./nack-window.js";
import { ServiceStats, type HealthCounts, type HistorySample } from "./service-stats.js";

/** Changes listed in one `registry` event; the rest are counted in `truncated`. */
export const REGISTRY_CHANGES_SHOWN = 200;
/** At most this many `health` events per registry batch: a flap of thousands of instances is told by its `registry` event's `truncated` instead. */
export const HEALTH_CHANGES_SHOWN = 200;
/** `acks` events are coalesced over this many ms. */
export const ACKS_EVERY_MS = 250;
/** The client counts are checked this often while anyone listens. */
export const CLIENTS_EVERY_MS = 1000;

export interface ClientCounts {
  readonly connected: number;
  readonly sotw: number;
  readonly delta: number;
}

/** One live event, as `GET /v1/events` sends it: `event: {type}`, `id: {id}`, `data: {JSON of data}`. */
export interface HubEvent {
  readonly id: number;
  readonly type: "registry" | "health" | "generation" | "nack" | "acks" | "clients";
  readonly data: Readonly<Record<string, unknown>>;
}

export interface EventHubDeps {
  readonly registry: Pick<Registry, "view" | "subscribe">;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The xDS server's open streams by protocol. */
  readonly clientCounts: () => ClientCounts;
}

/**
 * What the web console reads (the bounded state behind /v1/overview and
 * the service history and ACK routes) and hears (`GET /v1/events`). Fed by
 * the registry's change feed (subscribed here), and by the caller with the
 * xDS replies (onReply) and the push guard's generations (onGeneration).
 */
export interface EventHub {
  onReply(reply: ClientReply): void;
  onGeneration(generation: Generation): void;
  /** Every event from now on, until the returned function is called. */
  subscribe(listener: (event: HubEvent) => void): () => void;
  /** The registry revision last seen and the newest generation id seen. */
  position(): { readonly revision: number; readonly generation: number | null };
  /** Instances of every service by health, and how many services. */
  totals(): { readonly services: number; readonly instances: Readonly<HealthCounts> };
  serviceCounts(service: string): Readonly<HealthCounts> | undefined;
  /**
   * Calls `listener` with every service's counts now, then with each service
   * whose counts change (undefined once it is deleted), batch by batch, until
   * the returned function is called: what `steadymesh_service_endpoints` is
   * kept from, so the registry's instances are counted once.
   */
  watchCounts(listener: (service: string, counts: Readonly<HealthCounts> | undefined) => void): () => void;
  history(service: string): readonly HistorySample[] | undefined;
  nacksLastHour(): number;
  clientCounts(): ClientCounts;
  /** The ACK book of a generation, or "expired" when it is too old to be kept. */
  acks(generation: number): AckBook | "expired" | undefined;
  /** Unsubscribes from the registry and stops the timers. */
  stop(): void;
}

/** Builds the hub and subscribes it to the registry at once. */
export function createEventHub(deps: EventHubDeps): EventHub {
  const { clock } = deps;
  const stats = new ServiceStats(deps.registry.view(), () => clock.now());
  // The start walk reaches each count watcher when it starts watching.
  stats.takeChanged();
  const countWatchers = new Set<(service: string, counts: Readonly<HealthCounts> | undefined) => void>();
  const nacks = new NackWindow();
  const books = new AckBooks();
  const listeners = new Set<(event: HubEvent) => void>();
  let revision = deps.registry.view().revision;
  let newestGeneration: number | null = null;
  let nextId = 1;
  /** Generation → streams that newly ACKed it since the last `acks` event. */
  let pendingAcks = new Map<number, number>();
  let cancelAcks: (() => void) | undefined;
  let cancelClients: (() => void) | undefined;
  let lastClients: ClientCounts | undefined;
  let stopped = false;

  function emit(type: HubEvent["type"], data: HubEvent["data"]): void {
    if (listeners.size === 0) return;
    const event = { id: nextId++, type, data };
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (err) {
        deps.logger.error({ err, type }, "an event listener failed; the others still get the event");
      }
    }
  }

  function onRegistry(events: readonly ChangeEvent[], viewRevision: number): void {
    revision = viewRevision;
    const healthChanges = stats.apply(events);
    for (const name of stats.takeChanged()) {
      const counts = stats.counts(name);
      for (const watcher of countWatchers) watcher(name, counts);
    }
    const shown = events.slice(0, REGISTRY_CHANGES_SHOWN).map(changeJson);
    const more = events.length - shown.length;
    emit("registry", { revision: viewRevision, changes: shown, ...(more > 0 && { truncated: more }) });
    for (const change of healthChanges.slice(0, HEALTH_CHANGES_SHOWN)) emit("health", { ...change });
  }

  function flushAcks(): void {
    cancelAcks = undefined;
    if (pendingAcks.size === 0) return;
    const generations = Object.fromEntries(pendingAcks);
    pendingAcks = new Map();
    emit("acks", { generations });
  }

  /** Emits `clients` when the counts changed; runs every CLIENTS_EVERY_MS while anyone listens. */
  function pollClients(): void {
    cancelClients = undefined;
    if (stopped || listeners.size === 0) return;
    const now = deps.clientCounts();
    if (!lastClients || now.connected !== lastClients.connected || now.sotw !== lastClients.sotw || now.delta !== lastClients.delta) emit("clients", { ...now });
    lastClients = now;
    cancelClients = clock.setTimeout(pollClients, CLIENTS_EVERY_MS);
  }

  const unsubscribe = deps.registry.subscribe((view, events) => onRegistry(events, view.revision));

  return {
    onReply(reply) {
      if (reply.nack) {
        nacks.add(clock.now());
        emit("nack", {
          streamId: reply.streamId,
          nodeId: reply.node.id,
          type: shortTypeName(reply.typeUrl),
          ...(reply.tag !== undefined && { generation: reply.tag }),
          errorDetail: { code: reply.nack.code, message: reply.nack.message },
        });
        return;
      }
      if (reply.tag === undefined) return;
      const first = books.ack(reply.tag, { streamId: reply.streamId, nodeId: reply.node.id, at: clock.now(), initial: reply.initial === true });
      if (!first) return;
      pendingAcks.set(reply.tag, (pendingAcks.get(reply.tag) ?? 0) + 1);
      if (!cancelAcks && !stopped) cancelAcks = clock.setTimeout(flushAcks, ACKS_EVERY_MS);
    },
    onGeneration(generation) {
      if (newestGeneration === null || generation.id > newestGeneration) newestGeneration = generation.id;
      if (generation.status === "pushed" || generation.status === "canary") {
        const event = generation.history.find((e) => e.status === "pushed" || e.status === "canary");
        const at = event ? Date.parse(event.at) : Number.NaN;
        books.pushed(generation.id, Number.isFinite(at) ? at : clock.now());
      }
      const { id, status, reason, createdAt } = generation;
      emit("generation", { id, status, reason, createdAt, revision: generation.revision });
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!cancelClients && !stopped) {
        lastClients = deps.clientCounts();
        cancelClients = clock.setTimeout(pollClients, CLIENTS_EVERY_MS);
      }
      return () => void listeners.delete(listener);
    },
    position: () => ({ revision, generation: newestGeneration }),
    totals: () => ({ services: stats.size, instances: stats.totals }),
    serviceCounts: (service) => stats.counts(service),
    watchCounts(listener) {
      const own = (service: string, counts: Readonly<HealthCounts> | undefined) => listener(service, counts);
      for (const [name, counts] of stats.entries()) own(name, counts);
      countWatchers.add(own);
      return () => void countWatchers.delete(own);
    },
    history: (service) => stats.history(service),
    nacksLastHour: () => nacks.count(clock.now()),
    clientCounts: () => deps.clientCounts(),
    acks: (generation) => books.get(generation) ?? (books.expired(generation) ? "expired" : undefined),
    stop() {
      stopped = true;
      unsubscribe();
      cancelAcks?.();
      cancelClients?.();
      listeners.clear();
      countWatchers.clear();
    },
  };
}

function changeJson(event: ChangeEvent): Record<string, string> {
  switch (event.kind) {
    case "service-put":
      return { kind: event.kind, service: event.service.name };
    case "service-deleted":
      return { kind: event.kind, service: event.name };
    case "instance-put":
      return { kind: event.kind, service: event.instance.service, id: event.instance.id, health: event.instance.health };
    case "instance-deleted":
      return { kind: event.kind, service: event.service, id: event.id };
  }
}
