import { FrozenMap } from "./frozen-map.js";
import type { Instance, Service } from "./model.js";
import type { ChangeEvent, StoreState } from "./store.js";
import type { RegistryView, ServiceEntry } from "./view.js";

interface Draft {
  service: Service;
  instances: Map<string, Instance>;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function freezeEntry(draft: Draft): ServiceEntry {
  const instances = [...draft.instances].sort(([a], [b]) => compareText(a, b));
  return Object.freeze({ service: draft.service, instances: new FrozenMap(instances) });
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

/** Applies one revision's events to drafts of only the services they touch; `null` marks a deleted service. */
function collectDrafts(view: RegistryView, events: readonly ChangeEvent[]): Map<string, Draft | null> {
  const drafts = new Map<string, Draft | null>();
  const draftOf = (name: string): Draft | undefined => {
    if (drafts.has(name)) return drafts.get(name) ?? undefined;
    const entry = view.services.get(name);
    if (!entry) return undefined;
    const draft = { service: entry.service, instances: new Map(entry.instances) };
    drafts.set(name, draft);
    return draft;
  };
  const ensure = (name: string, service: Service): Draft => {
    const draft = draftOf(name) ?? { service, instances: new Map<string, Instance>() };
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
        ensure(event.instance.service, defaultService(event.instance.service)).instances.set(event.instance.id, event.instance);
        break;
      case "instance-deleted":
        draftOf(event.service)?.instances.delete(event.id);
        break;
    }
  }
  return drafts;
}

/**
 * The view after one revision's events. Services the events do not touch keep
 * their ServiceEntry object, so consumers can compare entries with `===`.
 * Services iterate in name order and instances in id order.
 */
export function nextView(view: RegistryView, revision: number, events: readonly ChangeEvent[]): RegistryView {
  const services = new Map(view.services);
  let added = false;
  for (const [name, draft] of collectDrafts(view, events)) {
    if (draft === null) {
      services.delete(name);
      continue;
    }
    added ||= !services.has(name);
    services.set(name, freezeEntry(draft));
  }
  const ordered = added ? [...services].sort(([a], [b]) => compareText(a, b)) : services;
  return Object.freeze({ revision, services: new FrozenMap(ordered) });
}

/** The view of a freshly loaded store. */
export function viewFromState(state: StoreState): RegistryView {
  const events: ChangeEvent[] = [
    ...state.services.map((service): ChangeEvent => ({ revision: state.revision, kind: "service-put", service })),
    ...state.instances.map((instance): ChangeEvent => ({ revision: state.revision, kind: "instance-put", instance })),
  ];
  return nextView({ revision: 0, services: new Map() }, state.revision, events);
}
