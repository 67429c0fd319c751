import type { ChangeEvent, Health, Instance, RegistryView } from "../registry/index.js";

/** Instances of one service (or of all) by health. */
export interface HealthCounts {
  healthy: number;
  unhealthy: number;
  unknown: number;
  draining: number;
  total: number;
}

/** One point of a service's instances over time. */
export interface HistorySample {
  /** Clock ms. */
  readonly at: number;
  readonly healthy: number;
  readonly unhealthy: number;
  readonly unknown: number;
  readonly draining: number;
}

/** Samples kept per service: the newest HISTORY_SAMPLES. */
export const HISTORY_SAMPLES = 360;

/** An instance whose health changed within a batch. */
export interface HealthChange {
  readonly service: string;
  readonly id: string;
  readonly from: Health;
  readonly to: Health;
}

interface ServiceState {
  readonly name: string;
  /** Instance id → its health, as last counted. */
  readonly instances: Map<string, Health>;
  readonly counts: HealthCounts;
  readonly history: HistorySample[];
}

const zero = (): HealthCounts => ({ healthy: 0, unhealthy: 0, unknown: 0, draining: 0, total: 0 });

/**
 * Per-service instance counts by health, their totals, and each service's
 * counts over time, kept from the registry's change events: one walk of
 * the view at start, then each batch costs its own events (issue 15: no
 * walk of the registry per change). The console's routes and the
 * `steadymesh_service_endpoints` gauges (trackServiceEndpoints in
 * src/server/observers.ts, through the hub's watchCounts) both read them. A service's
 * history gains a sample at first sight and whenever its counts change,
 * at most one per second (the last in a second wins), the newest
 * HISTORY_SAMPLES kept; a deleted service is forgotten.
 */
export class ServiceStats {
  private readonly services = new Map<string, ServiceState>();
  readonly totals: HealthCounts = zero();
  /** Services whose counts changed (or that went) since the last takeChanged(). */
  private changed = new Set<string>();

  constructor(view: RegistryView, private readonly now: () => number) {
    for (const [name, entry] of view.services) {
      this.stateOf(name);
      for (const instance of entry.instances.values()) this.put(instance);
    }
    for (const name of this.services.keys()) this.sample(name);
  }

  get size(): number {
    return this.services.size;
  }

  counts(service: string): Readonly<HealthCounts> | undefined {
    return this.services.get(service)?.counts;
  }

  history(service: string): readonly HistorySample[] | undefined {
    return this.services.get(service)?.history;
  }

  /** Every service known now, with its counts. */
  *entries(): IterableIterator<[string, Readonly<HealthCounts>]> {
    for (const [name, state] of this.services) yield [name, state.counts];
  }

  /** The services whose counts changed, or that were deleted, since the last call; each batch's cost, not the registry's. */
  takeChanged(): string[] {
    const names = [...this.changed];
    this.changed = new Set();
    return names;
  }

  /** Applies one batch of change events; returns the health changes of instances seen before. */
  apply(events: readonly ChangeEvent[]): HealthChange[] {
    const touched = new Set<string>();
    const changes: HealthChange[] = [];
    for (const event of events) {
      if (event.kind === "service-put") {
        if (!this.services.has(event.service.name)) touched.add(event.service.name);
        this.stateOf(event.service.name);
      } else if (event.kind === "service-deleted") {
        this.dropService(event.name);
        touched.delete(event.name);
      } else if (event.kind === "instance-put") {
        const change = this.put(event.instance);
        if (change) changes.push(change);
        touched.add(event.instance.service);
      } else {
        this.remove(event.service, event.id);
        touched.add(event.service);
      }
    }
    for (const name of touched) this.sample(name);
    return changes;
  }

  private stateOf(service: string): ServiceState {
    let state = this.services.get(service);
    if (!state) this.services.set(service, (state = { name: service, instances: new Map(), counts: zero(), history: [] }));
    return state;
  }

  private put(instance: Instance): HealthChange | undefined {
    const state = this.stateOf(instance.service);
    const before = state.instances.get(instance.id);
    if (before === instance.health) return undefined;
    if (before !== undefined) this.count(state, before, -1);
    state.instances.set(instance.id, instance.health);
    this.count(state, instance.health, 1);
    return before === undefined ? undefined : { service: instance.service, id: instance.id, from: before, to: instance.health };
  }

  private remove(service: string, id: string): void {
    const state = this.services.get(service);
    const before = state?.instances.get(id);
    if (before === undefined) return;
    state!.instances.delete(id);
    this.count(state!, before, -1);
  }

  private dropService(service: string): void {
    const state = this.services.get(service);
    if (!state) return;
    for (const health of state.instances.values()) this.count(state, health, -1);
    this.services.delete(service);
    this.changed.add(service);
  }

  private count(state: ServiceState, health: Health, by: number): void {
    this.changed.add(state.name);
    state.counts[health] += by;
    state.counts.total += by;
    this.totals[health] += by;
    this.totals.total += by;
  }

  /** Records the service's counts now, unless they equal the last sample; one sample per second at most. */
  private sample(service: string): void {
    const state = this.services.get(service);
    if (!state) return;
    const { healthy, unhealthy, unknown, draining } = state.counts;
    const at = this.now();
    const sample = { at, healthy, unhealthy, unknown, draining };
    const last = state.history.at(-1);
    if (last && last.healthy === healthy && last.unhealthy === unhealthy && last.unknown === unknown && last.draining === draining) return;
    if (last && Math.floor(last.at / 1000) === Math.floor(at / 1000) && state.history.length > 1) {
      state.history[state.history.length - 1] = sample;
      return;
    }
    state.history.push(sample);
    if (state.history.length > HISTORY_SAMPLES) state.history.shift();
  }
}
