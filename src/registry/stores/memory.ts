import { SortedMap } from "../../collections/index.js";
import { UnavailableError } from "../../errors/index.js";
import { createSilentLogger, type Logger } from "../../log/index.js";
import type { Instance, Service } from "../model.js";
import type { Backend } from "../store.js";
import { applyMutations, type Tables } from "./apply.js";
import { createFeed } from "./feed.js";
import { createMemoryGenerationLog } from "./generation-log-memory.js";
import { createMemoryTokenStore } from "./token-store-memory.js";

interface MemoryState {
  readonly services: SortedMap<Service>;
  /** Keyed by service name, then instance id. */
  readonly instances: SortedMap<SortedMap<Instance>>;
  /** The unique-endpoint index: `service\0address\0port` → the ids of the instances there. */
  readonly endpoints: SortedMap<readonly string[]>;
}

function endpointKey(service: string, address: string, port: number): string {
  return `${service}\u0000${address}\u0000${port}`;
}

const NO_INSTANCES = SortedMap.empty<Instance>();

/**
 * Tables over a draft of `base`. The state is made of SortedMaps, so the
 * draft is a pair of references that each write replaces with a derived map
 * (O(log n), whatever the registry's size): `base` is never touched, and
 * dropping the draft undoes everything.
 */
function draftTables(base: MemoryState): { tables: Tables; state: () => MemoryState } {
  let { services, instances, endpoints } = base;
  const index = (instance: Instance, add: boolean): void => {
    const key = endpointKey(instance.service, instance.address, instance.port);
    const ids = (endpoints.get(key) ?? []).filter((id) => id !== instance.id);
    if (add) ids.push(instance.id);
    endpoints = endpoints.with([[key, ids.length > 0 ? ids : undefined]]);
  };
  const instancesOf = (service: string): SortedMap<Instance> => instances.get(service) ?? NO_INSTANCES;
  const tables: Tables = {
    getService: (name) => services.get(name),
    putService(service) {
      services = services.set(service.name, service);
    },
    deleteService(name) {
      services = services.delete(name);
      instances = instances.delete(name);
    },
    getInstance: (service, id) => instances.get(service)?.get(id),
    listInstances: (service) => [...instancesOf(service).values()],
    findEndpoint(service, address, port, exceptId) {
      for (const id of endpoints.get(endpointKey(service, address, port)) ?? []) {
        const found = id === exceptId ? undefined : instances.get(service)?.get(id);
        if (found && found.address === address && found.port === port) return found.id;
      }
      return undefined;
    },
    putInstance(instance) {
      const before = instances.get(instance.service)?.get(instance.id);
      if (before) index(before, false);
      index(instance, true);
      instances = instances.set(instance.service, instancesOf(instance.service).set(instance.id, instance));
    },
    deleteInstance(service, id) {
      const map = instances.get(service);
      const before = map?.get(id);
      if (!map || !before) return;
      index(before, false);
      instances = instances.set(service, map.delete(id));
    },
  };
  return { tables, state: () => ({ services, instances, endpoints }) };
}

/**
 * A Store that lives in this process only; everything is lost on exit. For
 * tests, demos and `serve --store memory`. Values are frozen copies; the
 * generation log hands out fresh copies of what was put.
 */
export function createMemoryStore(options: { logger?: Logger } = {}): Backend {
  const feed = createFeed(options.logger ?? createSilentLogger());
  let state: MemoryState = { services: SortedMap.empty(), instances: SortedMap.empty(), endpoints: SortedMap.empty() };
  let revision = 0;
  let closed = false;
  const secrets = new Map<string, string>();

  const ensureOpen = (): void => {
    if (closed) throw new UnavailableError("memory store is closed");
  };

  return {
    kind: "memory",
    generations: createMemoryGenerationLog(ensureOpen),
    tokens: createMemoryTokenStore(ensureOpen),
    secrets: {
      async get(name) {
        ensureOpen();
        return secrets.get(name);
      },
      async putIfAbsent(name, value) {
        ensureOpen();
        if (!secrets.has(name)) secrets.set(name, value);
        return secrets.get(name)!;
      },
    },
    async load() {
      ensureOpen();
      const services = [...state.services.values()];
      const instances = services.flatMap((service) => [...(state.instances.get(service.name)?.values() ?? [])]);
      return { revision, services, instances };
    },
    async commit(mutations) {
      ensureOpen();
      const draft = draftTables(state);
      const events = applyMutations(draft.tables, mutations, revision + 1);
      if (events.length === 0) return { revision, events };
      state = draft.state();
      revision += 1;
      feed.publish(events);
      return { revision: events[0]!.revision, events };
    },
    watch: (onEvents) => feed.watch(onEvents),
    async close() {
      closed = true;
      feed.clear();
    },
  };
}
