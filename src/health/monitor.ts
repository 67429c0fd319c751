import { SortedMap } from "../collections/index.js";
import type { Clock } from "../clock/index.js";
import { ConflictError, NotFoundError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import { checkNames, type HealthCheckKind, type Instance, type Liveness, type RegistryView, type ServiceEntry } from "../registry/index.js";
import { DAMPING_DEFAULTS, TTL_GRACE_DEFAULT_MS, type DampingPolicy } from "./model.js";
import { createNetworkProber } from "./network-prober.js";
import { ownEverything, type Ownership } from "./ownership.js";
import type { Prober } from "./prober.js";
import { InstanceTracker, type TrackerDeps } from "./tracker.js";
import { createWriteQueue, type MonitoredRegistry, type WriteQueue } from "./write-queue.js";

export type { MonitoredRegistry } from "./write-queue.js";

export interface HealthMonitorDeps {
  readonly registry: MonitoredRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** gRPC, HTTP and TCP checks over the network unless a fake is given. */
  readonly prober?: Prober;
  /** Which instances this replica looks after; all of them by default. */
  readonly ownership?: Ownership;
  /**
   * Heartbeats shared by every replica (the store's `liveness`, etcd). The
   * owner of a TTL instance records its first sighting there as a beat, and
   * asks it before a TTL turns an instance unhealthy or removes it. Writing
   * heartbeats through to it is the caller's job (the admin route).
   */
  readonly liveness?: Liveness | undefined;
  /** How long an instance whose TTL ran out stays (unhealthy) before it is removed; 30 s by default. */
  readonly ttlGraceMs?: number;
  readonly damping?: DampingPolicy;
  /** A number in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

/** What a heartbeat answers. */
export interface HeartbeatResult {
  readonly service: string;
  readonly id: string;
  readonly ttlMs: number;
  /** ISO time at which the instance turns unhealthy unless another heartbeat comes first. */
  readonly expiresAt: string;
}

/**
 * Keeps the registry's `health` true: active checks for every instance of a
 * service with a `healthCheck`, TTLs for every instance with a `ttlMs`, for
 * the instances `ownership` gives this replica. It follows the registry's
 * change feed: re-registering an instance keeps its checks running; checks of
 * an instance that disappears stop at once. Health changes are written
 * through the registry (a new revision); heartbeats are kept in memory (no
 * revision), so after a restart every TTL instance starts a fresh TTL, and,
 * with `liveness`, also in the store where every replica sees them.
 */
export interface HealthMonitor {
  /**
   * Renews the TTL of an instance. ValidationError for a bad name,
   * NotFoundError for an unknown instance, ConflictError for one registered
   * without `ttlMs`.
   */
  heartbeat(service: string, id: string): HeartbeatResult;
  /**
   * The last check of each instance of `service` this replica looks after,
   * by instance id: its last active check, or its last heartbeat (or first
   * sight) for a TTL instance, whichever came later. Kept only for instances
   * the monitor follows, so memory is bounded by the registry.
   */
  lastChecks(service: string): ReadonlyMap<string, LastCheck>;
  /** Stops every check and timer, then waits for writes already issued. Writes nothing more. Idempotent. */
  stop(): Promise<void>;
}

/** One instance's last check, as `lastChecks` gives it. */
export interface LastCheck {
  /** Clock ms. */
  readonly at: number;
  readonly ok: boolean;
  /** `grpc SERVING`, `no answer within 1000 ms`, `heartbeat`, … */
  readonly detail: string;
  readonly kind: HealthCheckKind | "ttl";
}

/** Starts following `deps.registry` at once, from its current view. */
export function createHealthMonitor(deps: HealthMonitorDeps): HealthMonitor {
  return new Monitor(deps);
}

class Monitor implements HealthMonitor {
  private readonly logger: Logger;
  private readonly ownership: Ownership;
  private readonly trackerDeps: Omit<TrackerDeps, "lastBeat" | "setHealth" | "remove" | "onSuppression">;
  private readonly writes: WriteQueue;
  /** Trackers by service, then instance id. */
  private readonly trackers = new Map<string, Map<string, InstanceTracker>>();
  /** Last heartbeat (or first sight) of each instance with a ttlMs, owned or not: by service, then id. */
  private readonly beats = new Map<string, Map<string, number>>();
  /** The last active check of each tracked instance: by service, then id (dropped with its tracker). */
  private readonly checks = new Map<string, Map<string, LastCheck>>();
  private readonly unsubscribe: () => void;
  /** The services of the view synced last: the next sync looks only at what differs from it. */
  private seen: ReadonlyMap<string, ServiceEntry> = new Map();
  private suppressed = 0;
  private stopped = false;

  constructor(private readonly deps: HealthMonitorDeps) {
    this.logger = deps.logger.child({ component: "health" });
    this.ownership = deps.ownership ?? ownEverything();
    this.writes = createWriteQueue(deps.registry, this.logger, deps.metrics);
    this.trackerDeps = {
      clock: deps.clock,
      random: deps.random ?? Math.random,
      prober: deps.prober ?? createNetworkProber(),
      damping: deps.damping ?? DAMPING_DEFAULTS,
      ttlGraceMs: deps.ttlGraceMs ?? TTL_GRACE_DEFAULT_MS,
      logger: this.logger,
      metrics: deps.metrics,
    };
    const unsubscribeRegistry = deps.registry.subscribe((view) => this.sync(view));
    const unsubscribeOwnership = this.ownership.subscribe(() => this.sync(deps.registry.view(), true));
    this.unsubscribe = () => (unsubscribeRegistry(), unsubscribeOwnership());
    this.sync(deps.registry.view(), true);
    this.logger.debug({ ttlGraceMs: this.trackerDeps.ttlGraceMs, damping: this.trackerDeps.damping }, "health monitor started");
  }

  heartbeat(service: string, id: string): HeartbeatResult {
    checkNames(service, id);
    const entry = this.deps.registry.view().services.get(service);
    const instance = entry?.instances.get(id);
    if (!entry) throw new NotFoundError(`service "${service}" not found`);
    if (!instance) throw new NotFoundError(`instance "${id}" not found in service "${service}"`);
    if (instance.ttlMs === undefined) {
      throw new ConflictError(`instance "${id}" of service "${service}" has no ttlMs, so it takes no heartbeats; register it with "ttlMs" (1000–86400000) to use them`);
    }
    const now = this.deps.clock.now();
    this.beats.get(service)?.set(id, now);
    this.deps.metrics?.heartbeats.inc();
    this.trackers.get(service)?.get(id)?.heartbeat();
    return { service, id, ttlMs: instance.ttlMs, expiresAt: new Date(now + instance.ttlMs).toISOString() };
  }

  lastChecks(service: string): ReadonlyMap<string, LastCheck> {
    const out = new Map<string, LastCheck>();
    const beats = this.beats.get(service);
    for (const [id, at] of beats ?? []) out.set(id, { at, ok: true, detail: "heartbeat", kind: "ttl" });
    for (const [id, check] of this.checks.get(service) ?? []) {
      const beat = out.get(id);
      if (!beat || check.at >= beat.at) out.set(id, check);
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.writes.drain();
    this.stopped = true;
    this.unsubscribe();
    for (const byId of this.trackers.values()) for (const tracker of byId.values()) tracker.stop();
    this.trackers.clear();
    await this.writes.stop();
    this.logger.debug("health monitor stopped");
  }

  /** Syncs the services whose entry changed since the last sync, or every service with `all`. */
  private sync(view: RegistryView, all = false): void {
    if (this.stopped) return;
    const seen = this.seen;
    if (!all && seen instanceof SortedMap && view.services instanceof SortedMap) {
      // The registry's views share all but what changed: the diff costs the change, not the registry's size.
      (view.services as SortedMap<ServiceEntry>).diffFrom(seen as SortedMap<ServiceEntry>, {
        added: (name, entry) => this.syncService(name, entry),
        changed: (name, _before, entry) => this.syncService(name, entry),
        removed: (name) => this.syncService(name, undefined),
      });
    } else {
      for (const [name, entry] of view.services) if (all || seen.get(name) !== entry) this.syncService(name, entry);
      for (const name of seen.keys()) if (!view.services.has(name)) this.syncService(name, undefined);
    }
    // Views are immutable: keeping the map itself is enough.
    this.seen = view.services;
  }

  /** Starts, updates and stops the trackers of one service to match `entry` (undefined: the service is gone). */
  private syncService(name: string, entry: ServiceEntry | undefined): void {
    const current = this.trackers.get(name) ?? new Map<string, InstanceTracker>();
    const next = new Map<string, InstanceTracker>();
    const check = entry?.service.healthCheck;
    this.syncBeats(name, entry);
    for (const instance of entry?.instances.values() ?? []) {
      if ((!check && instance.ttlMs === undefined) || !this.ownership.owns(name, instance.id)) continue;
      const tracker = current.get(instance.id) ?? this.newTracker(instance);
      tracker.update(instance, check);
      next.set(instance.id, tracker);
    }
    for (const [id, tracker] of current) {
      if (next.has(id)) continue;
      const instance = entry?.instances.get(id);
      // Still here and still ours, but nothing to check any more: the tracker undoes its own verdict first.
      if (instance && this.ownership.owns(name, id)) tracker.update(instance, undefined);
      tracker.stop();
    }
    if (next.size > 0) this.trackers.set(name, next);
    else this.trackers.delete(name);
    this.forgetChecks(name, next);
  }

  /** Drops the last checks of instances no longer tracked. */
  private forgetChecks(name: string, tracked: ReadonlyMap<string, InstanceTracker>): void {
    const checks = this.checks.get(name);
    if (!checks) return;
    for (const id of [...checks.keys()]) if (!tracked.has(id)) checks.delete(id);
    if (checks.size === 0) this.checks.delete(name);
  }

  /** A first sighting counts as a heartbeat; instances gone (or without a ttlMs now) are forgotten. */
  private syncBeats(name: string, entry: ServiceEntry | undefined): void {
    const old = this.beats.get(name);
    const next = new Map<string, number>();
    for (const instance of entry?.instances.values() ?? []) {
      if (instance.ttlMs === undefined) continue;
      const seen = old?.get(instance.id);
      next.set(instance.id, seen ?? this.deps.clock.now());
      if (seen === undefined) this.shareFirstBeat(instance, instance.ttlMs);
    }
    if (next.size > 0) this.beats.set(name, next);
    else this.beats.delete(name);
  }

  /** The owner writes a first sighting to the shared heartbeats, so other replicas see it alive if this one dies. */
  private shareFirstBeat(instance: Instance, ttlMs: number): void {
    const { liveness } = this.deps;
    if (!liveness || !this.ownership.owns(instance.service, instance.id)) return;
    const at = { service: instance.service, id: instance.id };
    liveness.beat(instance.service, instance.id, ttlMs).then(
      () => this.logger.debug(at, "first sighting recorded as a shared heartbeat"),
      (err: unknown) => this.logger.warn({ ...at, err }, "could not record a first sighting as a shared heartbeat; this replica's memory still counts it"),
    );
  }

  private newTracker(instance: Instance): InstanceTracker {
    const { service, id } = instance;
    const { liveness } = this.deps;
    return new InstanceTracker(instance, {
      ...this.trackerDeps,
      sharedBeat: liveness && {
        alive: () => liveness.alive(service, id),
        record: () => this.beats.get(service)?.set(id, this.deps.clock.now()),
      },
      lastBeat: () => this.beats.get(service)?.get(id) ?? this.deps.clock.now(),
      setHealth: (to, why) => this.writes.setHealth(service, id, to, why),
      remove: (why) => this.writes.remove(service, id, why),
      onCheck: (check) => {
        let byId = this.checks.get(service);
        if (!byId) this.checks.set(service, (byId = new Map()));
        byId.set(id, { ...check, at: this.deps.clock.now() });
      },
      onSuppression: (on) => this.deps.metrics?.healthSuppressed.set((this.suppressed += on ? 1 : -1)),
    });
  }
}
