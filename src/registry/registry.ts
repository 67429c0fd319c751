import { NotFoundError, UnavailableError, ValidationError } from "../errors/index.js";
import { createSilentLogger, type Logger } from "../log/index.js";
import type { Health, Instance, Service } from "./model.js";
import { nextView, viewFromState } from "./next-view.js";
import type { PolicyDocument } from "./policy.js";
import { diffPolicy, type PolicyDiff } from "./policy-diff.js";
import { parsePolicyBody } from "./policy-validate.js";
import type { ChangeEvent, CommitResult, Mutation, Store } from "./store.js";
import { checkNames, parseInstanceBody, parseIntention, parseServiceBody } from "./validate.js";
import type { RegistryView, ServiceEntry } from "./view.js";

/** What a successful put returns. */
export interface PutResult<T> {
  /** The store revision that contains the write. */
  readonly revision: number;
  /** True when the thing did not exist in the registry's view when the write was issued. */
  readonly created: boolean;
  /** The value as stored, defaults filled in. */
  readonly value: T;
}

/**
 * The registry: validated writes into a Store, and a revisioned, immutable
 * view of it kept current from the store's change feed. Reads your writes:
 * once a write's promise resolves, view() includes it.
 */
export interface Registry {
  /** The current view; a new object per revision, unchanged ServiceEntry objects shared. */
  view(): RegistryView;
  /**
   * Calls `onChange` once per applied revision, in revision order, with the
   * new view and that revision's events. A throwing subscriber is logged and
   * does not affect the registry or other subscribers. Returns unsubscribe.
   */
  subscribe(onChange: (view: RegistryView, events: readonly ChangeEvent[]) => void): () => void;
  getService(name: string): ServiceEntry | undefined;
  /**
   * Creates or replaces a service (its instances stay, and so do its
   * intentions unless the body has `intentions`). ValidationError on bad
   * input; nothing is written then.
   */
  putService(name: string, body: unknown): Promise<PutResult<Service>>;
  /**
   * Sets the intention from `source` (a service or "*") to `destination` to
   * the body's `{"action": "allow"|"deny"}`, creating `destination` with
   * defaults when missing; applied inside one commit, so concurrent writers
   * of other intentions are not lost. ValidationError on bad input.
   */
  putIntention(destination: string, source: string, body: unknown): Promise<PutResult<Service>>;
  /** Removes that intention; NotFoundError when the destination or the intention is absent. */
  deleteIntention(destination: string, source: string): Promise<{ revision: number; value: Service }>;
  /**
   * Sets the policy of every document's service in one commit: all or none.
   * Each service is created with defaults when missing. Documents must be
   * valid (parsePolicyDocuments, parsePolicyList) and name each service once;
   * ValidationError otherwise, nothing written.
   */
  applyPolicies(documents: readonly PolicyDocument[]): Promise<{ revision: number; documents: readonly PolicyDocument[] }>;
  /** Validates `{subsets, routes, …}` (parsePolicyBody) and sets it as the service's policy, creating the service when missing. */
  putPolicy(service: string, body: unknown): Promise<PutResult<PolicyDocument>>;
  /** The service's policy as a document; NotFoundError when the service or its policy is absent. */
  getPolicy(service: string): PolicyDocument;
  /** Removes the service's policy; NotFoundError when the service or its policy is absent. */
  deletePolicy(service: string): Promise<{ revision: number }>;
  /** Pure: what applyPolicies would change, per document, against the current view. */
  diffPolicies(documents: readonly PolicyDocument[]): readonly PolicyDiff[];
  /**
   * Creates or replaces an instance, creating its service with defaults when
   * missing. ConflictError (nothing written) when the put creates the
   * instance, or moves it, onto an address and port another instance of the
   * service has; the store checks that inside the commit.
   */
  putInstance(service: string, id: string, body: unknown): Promise<PutResult<Instance>>;
  /**
   * Sets one instance's health and keeps every other field (the health
   * monitor's write). Writes nothing and resolves with `changed: false` when
   * the health is already that; NotFoundError when the instance is absent.
   * The instance is read and the commit issued in one turn of the event loop,
   * so no other write through this registry lands in between; writes through
   * another registry on a shared store (etcd replicas) are not fenced off.
   */
  setHealth(service: string, id: string, health: Health): Promise<{ revision: number; changed: boolean; value: Instance }>;
  /** Deletes a service and all its instances; NotFoundError when absent. */
  deleteService(name: string): Promise<{ revision: number }>;
  /** NotFoundError when the service or the instance is absent. */
  deleteInstance(service: string, id: string): Promise<{ revision: number }>;
  /** Stops following the feed and closes the store; writes fail afterwards with UnavailableError. */
  close(): Promise<void>;
}

export interface RegistryOptions {
  readonly logger?: Logger;
}

type Subscriber = Parameters<Registry["subscribe"]>[0];

/** ValidationError naming `documents[i].service` for each service name that is not a DNS label. */
function checkNamesOf(documents: readonly PolicyDocument[]): void {
  const issues = documents.flatMap((document, index) => {
    try {
      checkNames(document.service);
      return [];
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return err.issues.map((issue) => ({ path: `documents[${index}].${issue.path}`, message: issue.message }));
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Splits a batch into runs of equal revision, in the order given. */
function byRevision(events: readonly ChangeEvent[]): { revision: number; events: ChangeEvent[] }[] {
  const groups: { revision: number; events: ChangeEvent[] }[] = [];
  for (const event of events) {
    const last = groups.at(-1);
    if (last?.revision === event.revision) last.events.push(event);
    else groups.push({ revision: event.revision, events: [event] });
  }
  return groups;
}

interface ViewKeeper {
  view(): RegistryView;
  /** Applies a batch of events (any number of revisions) and notifies subscribers. */
  apply(events: readonly ChangeEvent[]): void;
  subscribe(onChange: Subscriber): () => void;
  clear(): void;
}

/**
 * Owns the current view. Batches are applied one at a time even when a
 * subscriber writes from its callback (the nested batch waits in the queue),
 * so subscribers always see revisions in order; revisions at or below the
 * current one are skipped, which makes feed and commit-result delivery
 * idempotent.
 */
function createViewKeeper(initial: RegistryView, logger: Logger): ViewKeeper {
  let current = initial;
  const subscribers = new Set<Subscriber>();
  const queue: (readonly ChangeEvent[])[] = [];
  let applying = false;

  function notify(view: RegistryView, events: readonly ChangeEvent[]): void {
    for (const subscriber of [...subscribers]) {
      if (!subscribers.has(subscriber)) continue;
      try {
        subscriber(view, events);
      } catch (err) {
        logger.error({ err, revision: view.revision }, "registry subscriber threw; the registry carries on");
      }
    }
  }

  function drain(): void {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      for (const group of byRevision(batch)) {
        if (group.revision <= current.revision) continue;
        current = nextView(current, group.revision, group.events);
        notify(current, group.events);
      }
    }
  }

  return {
    view: () => current,
    apply(events: readonly ChangeEvent[]): void {
      queue.push(events);
      if (applying) return;
      applying = true;
      try {
        drain();
      } finally {
        applying = false;
      }
    },
    subscribe(onChange: Subscriber): () => void {
      const subscriber: Subscriber = (view, events) => onChange(view, events);
      subscribers.add(subscriber);
      return () => void subscribers.delete(subscriber);
    },
    clear: () => subscribers.clear(),
  };
}

/**
 * Loads `store` and follows its change feed. The feed is watched before the
 * load, and what arrives meanwhile is applied after it, so no commit between
 * the two is missed.
 */
export async function createRegistry(store: Store, options: RegistryOptions = {}): Promise<Registry> {
  const logger = (options.logger ?? createSilentLogger()).child({ component: "registry" });
  const early: (readonly ChangeEvent[])[] = [];
  let keeper: ViewKeeper | undefined;
  const unwatch = store.watch((events) => (keeper ? keeper.apply(events) : early.push(events)));
  try {
    keeper = createViewKeeper(viewFromState(await store.load()), logger);
  } catch (err) {
    unwatch();
    throw err;
  }
  for (const events of early) keeper.apply(events);
  return registryOn(store, keeper, unwatch, logger);
}

function registryOn(store: Store, keeper: ViewKeeper, unwatch: () => void, logger: Logger): Registry {
  let closed = false;

  async function commit(mutations: readonly Mutation[]): Promise<CommitResult> {
    if (closed) throw new UnavailableError("registry is closed");
    const result = await store.commit(mutations);
    // The feed may lag the commit (or, after close, never come); apply skips it if already seen.
    keeper.apply(result.events);
    return result;
  }

  return {
    view: keeper.view,
    subscribe: keeper.subscribe,
    getService: (name) => keeper.view().services.get(name),
    async putService(name, body) {
      const service = parseServiceBody(name, body);
      const created = !keeper.view().services.has(name);
      // A service body never carries a policy (parseServiceBody refuses one): policies change only through the policy calls.
      const result = await commit([{ kind: "put-service", service, keepIntentions: service.intentions === undefined, keepPolicy: true }]);
      const stored = result.events.find((e) => e.kind === "service-put");
      return { revision: result.revision, created, value: stored?.kind === "service-put" ? stored.service : service };
    },
    async putIntention(destination, source, body) {
      const action = parseIntention(destination, source, body ?? {});
      const serviceDefaults = parseServiceBody(destination, {});
      const created = !keeper.view().services.has(destination);
      const result = await commit([{ kind: "set-intention", destination, source, ...(action && { action }), serviceDefaults }]);
      const stored = result.events.find((e) => e.kind === "service-put");
      if (stored?.kind !== "service-put") throw new UnavailableError(`the store made no record of the intention from ${source} to ${destination}`);
      return { revision: result.revision, created, value: stored.service };
    },
    async deleteIntention(destination, source) {
      parseIntention(destination, source);
      const serviceDefaults = parseServiceBody(destination, {});
      const result = await commit([{ kind: "set-intention", destination, source, serviceDefaults }]);
      const stored = result.events.find((e) => e.kind === "service-put");
      if (stored?.kind === "service-put") return { revision: result.revision, value: stored.service };
      if (!keeper.view().services.has(destination)) throw new NotFoundError(`service "${destination}" not found`);
      throw new NotFoundError(`no intention from "${source}" to "${destination}"`);
    },
    async applyPolicies(documents) {
      const seen = new Set<string>();
      documents.forEach((document, index) => {
        if (seen.has(document.service)) throw new ValidationError([{ path: `documents[${index}].service`, message: `service "${document.service}" has another document; one document per service` }]);
        seen.add(document.service);
      });
      checkNamesOf(documents);
      const result = await commit(documents.map((document) => ({ kind: "set-policy", service: document.service, policy: document.policy, serviceDefaults: parseServiceBody(document.service, {}) })));
      return { revision: result.revision, documents };
    },
    async putPolicy(service, body) {
      const document = parsePolicyBody(service, body);
      const created = keeper.view().services.get(service)?.service.policy === undefined;
      const result = await commit([{ kind: "set-policy", service, policy: document.policy, serviceDefaults: parseServiceBody(service, {}) }]);
      const stored = result.events.find((e) => e.kind === "service-put");
      const policy = stored?.kind === "service-put" ? stored.service.policy : undefined;
      if (!policy) throw new UnavailableError(`the store made no record of the policy of ${service}`);
      return { revision: result.revision, created, value: Object.freeze({ service, policy }) };
    },
    getPolicy(service) {
      checkNames(service);
      const entry = keeper.view().services.get(service);
      if (!entry) throw new NotFoundError(`service "${service}" not found`);
      if (!entry.service.policy) throw new NotFoundError(`service "${service}" has no policy`);
      return Object.freeze({ service, policy: entry.service.policy });
    },
    async deletePolicy(service) {
      checkNames(service);
      const result = await commit([{ kind: "set-policy", service, serviceDefaults: parseServiceBody(service, {}) }]);
      if (result.events.length > 0) return { revision: result.revision };
      if (!keeper.view().services.has(service)) throw new NotFoundError(`service "${service}" not found`);
      throw new NotFoundError(`service "${service}" has no policy`);
    },
    diffPolicies(documents) {
      checkNamesOf(documents);
      const view = keeper.view();
      return documents.map((document) => diffPolicy(document, view.services.get(document.service)?.service.policy));
    },
    async putInstance(serviceName, id, body) {
      const instance = parseInstanceBody(serviceName, id, body);
      const serviceDefaults = parseServiceBody(serviceName, {});
      const created = !keeper.view().services.get(serviceName)?.instances.has(id);
      const result = await commit([{ kind: "put-instance", instance, serviceDefaults, uniqueEndpoint: true }]);
      const stored = result.events.find((e) => e.kind === "instance-put");
      return { revision: result.revision, created, value: stored?.kind === "instance-put" ? stored.instance : instance };
    },
    async setHealth(serviceName, id, health) {
      checkNames(serviceName, id);
      const view = keeper.view();
      const entry = view.services.get(serviceName);
      const current = entry?.instances.get(id);
      if (!entry || !current) throw new NotFoundError(`instance "${id}" not found in service "${serviceName}"`);
      if (current.health === health) return { revision: view.revision, changed: false, value: current };
      const result = await commit([{ kind: "put-instance", instance: { ...current, health }, serviceDefaults: entry.service }]);
      const stored = result.events.find((e) => e.kind === "instance-put");
      return { revision: result.revision, changed: true, value: stored?.kind === "instance-put" ? stored.instance : { ...current, health } };
    },
    async deleteService(name) {
      checkNames(name);
      const result = await commit([{ kind: "delete-service", name }]);
      if (result.events.length === 0) throw new NotFoundError(`service "${name}" not found`);
      return { revision: result.revision };
    },
    async deleteInstance(serviceName, id) {
      checkNames(serviceName, id);
      const result = await commit([{ kind: "delete-instance", service: serviceName, id }]);
      if (result.events.length > 0) return { revision: result.revision };
      if (!keeper.view().services.has(serviceName)) throw new NotFoundError(`service "${serviceName}" not found`);
      throw new NotFoundError(`instance "${id}" not found in service "${serviceName}"`);
    },
    async close() {
      if (closed) return;
      closed = true;
      unwatch();
      keeper.clear();
      await store.close();
      logger.debug("registry closed");
    },
  };
}
