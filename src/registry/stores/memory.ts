import { UnavailableError } from "../../errors/index.js";
import { createSilentLogger, type Logger } from "../../log/index.js";
import type { Instance, Service } from "../model.js";
import type { Backend } from "../store.js";
import { applyMutations, type Tables } from "./apply.js";
import { createFeed } from "./feed.js";
import { createMemoryGenerationLog } from "./generation-log-memory.js";

interface MemoryState {
  readonly services: Map<string, Service>;
  /** Keyed by service name, then instance id. */
  readonly instances: Map<string, Map<string, Instance>>;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedInstances(state: MemoryState, service: string): Instance[] {
  return [...(state.instances.get(service)?.values() ?? [])].sort((a, b) => compareText(a.id, b.id));
}

/**
 * Tables over a draft of `base`: the outer maps are copied up front and each
 * service's instance map on first write, so `base` is never touched and
 * dropping the draft undoes everything.
 */
function draftTables(base: MemoryState): { tables: Tables; state: MemoryState } {
  const state: MemoryState = { services: new Map(base.services), instances: new Map(base.instances) };
  const copied = new Set<string>();
  const writable = (service: string): Map<string, Instance> => {
    let map = state.instances.get(service);
    if (!map || !copied.has(service)) {
      map = new Map(map);
      state.instances.set(service, map);
      copied.add(service);
    }
    return map;
  };
  const tables: Tables = {
    getService: (name) => state.services.get(name),
    putService: (service) => void state.services.set(service.name, service),
    deleteService(name) {
      state.services.delete(name);
      state.instances.delete(name);
    },
    getInstance: (service, id) => state.instances.get(service)?.get(id),
    listInstances: (service) => sortedInstances(state, service),
    putInstance: (instance) => void writable(instance.service).set(instance.id, instance),
    deleteInstance: (service, id) => void writable(service).delete(id),
  };
  return { tables, state };
}

/**
 * A Store that lives in this process only; everything is lost on exit. For
 * tests, demos and `serve --store memory`. Values are frozen copies; the
 * generation log hands out fresh copies of what was put.
 */
export function createMemoryStore(options: { logger?: Logger } = {}): Backend {
  const feed = createFeed(options.logger ?? createSilentLogger());
  let state: MemoryState = { services: new Map(), instances: new Map() };
  let revision = 0;
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new UnavailableError("memory store is closed");
  };

  return {
    kind: "memory",
    generations: createMemoryGenerationLog(ensureOpen),
    async load() {
      ensureOpen();
      const services = [...state.services.values()].sort((a, b) => compareText(a.name, b.name));
      const instances = services.flatMap((service) => sortedInstances(state, service.name));
      return { revision, services, instances };
    },
    async commit(mutations) {
      ensureOpen();
      const draft = draftTables(state);
      const events = applyMutations(draft.tables, mutations, revision + 1);
      if (events.length === 0) return { revision, events };
      state = draft.state;
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
