import { SortedMap } from "../collections/index.js";
import type { Instance, Service } from "./model.js";
import type { ChangeEvent, StoreState } from "./store.js";
import type { RegistryView, ServiceEntry } from "./view.js";

/** What one revision does to one service: its (new) record, and its instance puts (a value) and deletes (undefined), in order. */
interface Draft {
  service: Service;
  /** The instances to start from: the entry's, or none for a new service. */
  readonly base: SortedMap<Instance>;
  readonly changes: [string, Instance | undefined][];
}

/**
 * Stands in for a service the feed never announced. The store contract puts
 * `service-put` before the first `instance-put` of a new service, so this only
 * guards against a broken backend: the instance is kept under the defaults
 * `putInstance` would have used, rather than silently dropped.
 */
function defaultService(name: string): Service {
  return Object.freeze({ name, protocol: "grpc", lbPolicy: "round_robin", metadata: Object.freeze({}) });
}

const NO_INSTANCES = SortedMap.empty<Instance>();

/** Applies one revision's events to drafts of only the services they touch; `null` marks a deleted service. */
function collectDrafts(services: SortedMap<ServiceEntry>, events: readonly ChangeEvent[]): Map<string, Draft | null> {
  const drafts = new Map<string, Draft | null>();
  const draftOf = (name: string): Draft | undefined => {
    if (drafts.has(name)) return drafts.get(name) ?? undefined;
    const entry = services.get(name);
    if (!entry) return undefined;
    const draft: Draft = { service: entry.service, base: SortedMap.from(entry.instances), changes: [] };
    drafts.set(name, draft);
    return draft;
  };
  const ensure = (name: string, service: Service): Draft => {
    const draft = draftOf(name) ?? { service, base: NO_INSTANCES, changes: [] };
    drafts.set(name, draft);
    return draft;
  };
  for (const event of events) {
    switch (event.kind) {
      case "service-put":
        ensure(event.service.name, event.service).service = event.service;
        break;
      case "service-deleted":
        drafts.set(event.name, null);
        break;
      case "instance-put":
        ensure(event.instance.service, defaultService(event.instance.service)).changes.push([event.instance.id, event.instance]);
        break;
      case "instance-deleted":
        draftOf(event.service)?.changes.push([event.id, undefined]);
        break;
    }
  }
  return drafts;
}

/**
 * The view after one revision's events. Services the events do not touch keep
 * their ServiceEntry object, so consumers can compare entries with `===`, and
 * the maps are SortedMaps derived from the previous view's, so the cost
 * follows the events (O(k log n)), not the registry's size, and a consumer
 * can diff two views in proportion to what changed. Services iterate in
 * name order and instances in id order.
 */
export function nextView(view: RegistryView, revision: number, events: readonly ChangeEvent[]): RegistryView {
  const services = SortedMap.from(view.services);
  const changes: [string, ServiceEntry | undefined][] = [];
  for (const [name, draft] of collectDrafts(services, events)) {
    changes.push([name, draft === null ? undefined : Object.freeze({ service: draft.service, instances: draft.base.with(draft.changes) })]);
  }
  return Object.freeze({ revision, services: services.with(changes) });
}

/** The view of a freshly loaded store. */
export function viewFromState(state: StoreState): RegistryView {
  const events: ChangeEvent[] = [
    ...state.services.map((service): ChangeEvent => ({ revision: state.revision, kind: "service-put", service })),
    ...state.instances.map((instance): ChangeEvent => ({ revision: state.revision, kind: "instance-put", instance })),
  ];
  return nextView({ revision: 0, services: SortedMap.empty() }, state.revision, events);
}
