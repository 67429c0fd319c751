import { ConflictError, ValidationError, type Issue } from "../../errors/index.js";
import { ANY_SOURCE, INTENTION_ACTIONS, type Instance, type Service } from "../model.js";
import { canonicalPolicy } from "../policy-validate.js";
import type { ChangeEvent, Mutation } from "../store.js";
import { isDnsLabel } from "../validate.js";

/**
 * The one place that decides what a commit means, shared by every backend so
 * that they all emit the same events for the same mutations. A backend
 * supplies `Tables` over its own storage, inside whatever makes the commit
 * atomic (a draft copy, an SQLite transaction, an etcd txn).
 */
export interface Tables {
  getService(name: string): Service | undefined;
  putService(service: Service): void;
  /** Removes the service row only; instances are removed one by one by the caller. */
  deleteService(name: string): void;
  getInstance(service: string, id: string): Instance | undefined;
  /** The service's instances in id order. */
  listInstances(service: string): readonly Instance[];
  /**
   * The id of an instance of `service` other than `exceptId` at `address`
   * and `port`, if there is one: the unique-endpoint check. Backends answer
   * it from an index, so a registration does not read a large service whole.
   */
  findEndpoint(service: string, address: string, port: number, exceptId: string): string | undefined;
  putInstance(instance: Instance): void;
  deleteInstance(service: string, id: string): void;
}

/** A deep-frozen copy holding only the model's fields, so later changes to the caller's object cannot leak in. */
export function freezeService(service: Service): Service {
  const { name, protocol, lbPolicy, healthCheck, mtls, intentions, policy } = service;
  return Object.freeze({
    name,
    protocol,
    lbPolicy,
    metadata: Object.freeze({ ...service.metadata }),
    // Optional fields are left out rather than stored as undefined, so values without them compare equal to older ones.
    ...(healthCheck !== undefined && { healthCheck: Object.freeze({ ...healthCheck }) }),
    ...(mtls !== undefined && { mtls }),
    ...(intentions !== undefined && Object.keys(intentions).length > 0 && { intentions: Object.freeze(sortedRecord(intentions)) }),
    // A deep, canonical copy: the same fields in the same order whichever backend read it back.
    ...(policy !== undefined && { policy: canonicalPolicy(policy) }),
  });
}

/** A copy of `record` with its keys in code-unit order, so equal intentions serialize alike. */
function sortedRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const sorted: Record<string, T> = {};
  for (const key of Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) sorted[key] = record[key] as T;
  return sorted;
}

/** See freezeService. */
export function freezeInstance(instance: Instance): Instance {
  const { service, id, address, port, zone, region, weight, health, ttlMs } = instance;
  return Object.freeze({
    service, id, address, port, zone, region, weight, health,
    metadata: Object.freeze({ ...instance.metadata }),
    ...(ttlMs !== undefined && { ttlMs }),
  });
}

function labelIssue(path: string, value: unknown): Issue[] {
  return typeof value === "string" && isDnsLabel(value) ? [] : [{ path, message: `must be a DNS label, got ${JSON.stringify(value)}` }];
}

/**
 * Throws a ValidationError when a mutation is malformed: an unknown kind, a
 * key that is not a DNS label, or a put-instance whose serviceDefaults name
 * another service. Backends call it while applying, so a bad mutation after
 * good ones proves the commit rolls back.
 */
export function checkMutation(mutation: Mutation, index: number): void {
  const at = `mutations.${index}`;
  let issues: Issue[];
  switch (mutation.kind) {
    case "put-service":
      issues = labelIssue(`${at}.service.name`, mutation.service?.name);
      break;
    case "delete-service":
      issues = labelIssue(`${at}.name`, mutation.name);
      break;
    case "set-intention":
      issues = [...labelIssue(`${at}.destination`, mutation.destination), ...(mutation.source === ANY_SOURCE ? [] : labelIssue(`${at}.source`, mutation.source))];
      if (mutation.serviceDefaults?.name !== mutation.destination) {
        issues.push({ path: `${at}.serviceDefaults.name`, message: `must equal destination ${JSON.stringify(mutation.destination)}, got ${JSON.stringify(mutation.serviceDefaults?.name)}` });
      }
      if (mutation.action !== undefined && !(INTENTION_ACTIONS as readonly string[]).includes(mutation.action)) {
        issues.push({ path: `${at}.action`, message: `must be one of allow, deny, or absent to delete, got ${JSON.stringify(mutation.action)}` });
      }
      break;
    case "set-policy":
      issues = labelIssue(`${at}.service`, mutation.service);
      if (mutation.serviceDefaults?.name !== mutation.service) {
        issues.push({ path: `${at}.serviceDefaults.name`, message: `must equal service ${JSON.stringify(mutation.service)}, got ${JSON.stringify(mutation.serviceDefaults?.name)}` });
      }
      if (mutation.policy !== undefined && (!Array.isArray(mutation.policy.subsets) || !Array.isArray(mutation.policy.routes))) {
        issues.push({ path: `${at}.policy`, message: "must be a TrafficPolicy {subsets, routes}, or absent to remove it" });
      }
      break;
    case "put-instance":
      issues = [...labelIssue(`${at}.instance.service`, mutation.instance?.service), ...labelIssue(`${at}.instance.id`, mutation.instance?.id)];
      if (mutation.serviceDefaults?.name !== mutation.instance?.service) {
        issues.push({ path: `${at}.serviceDefaults.name`, message: `must equal instance.service ${JSON.stringify(mutation.instance?.service)}, got ${JSON.stringify(mutation.serviceDefaults?.name)}` });
      }
      break;
    case "delete-instance":
      issues = [...labelIssue(`${at}.service`, mutation.service), ...labelIssue(`${at}.id`, mutation.id)];
      break;
    default:
      issues = [{ path: `${at}.kind`, message: `must be one of put-service, delete-service, put-instance, delete-instance, set-intention, set-policy, got ${JSON.stringify((mutation as { kind?: unknown }).kind)}` }];
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

function applyOne(tables: Tables, mutation: Mutation, revision: number, events: ChangeEvent[]): void {
  switch (mutation.kind) {
    case "put-service": {
      const stored = mutation.keepIntentions || mutation.keepPolicy ? tables.getService(mutation.service.name) : undefined;
      const { intentions: ownIntentions, policy: ownPolicy, ...rest } = mutation.service;
      const intentions = mutation.keepIntentions ? stored?.intentions : ownIntentions;
      const policy = mutation.keepPolicy ? stored?.policy : ownPolicy;
      const service = freezeService({ ...rest, ...(intentions !== undefined && { intentions }), ...(policy !== undefined && { policy }) });
      tables.putService(service);
      events.push({ revision, kind: "service-put", service });
      return;
    }
    case "delete-service": {
      if (!tables.getService(mutation.name)) return;
      for (const instance of tables.listInstances(mutation.name)) {
        tables.deleteInstance(instance.service, instance.id);
        events.push({ revision, kind: "instance-deleted", service: instance.service, id: instance.id });
      }
      tables.deleteService(mutation.name);
      events.push({ revision, kind: "service-deleted", name: mutation.name });
      return;
    }
    case "put-instance": {
      if (!tables.getService(mutation.instance.service)) {
        const service = freezeService(mutation.serviceDefaults);
        tables.putService(service);
        events.push({ revision, kind: "service-put", service });
      }
      const instance = freezeInstance(mutation.instance);
      if (mutation.uniqueEndpoint) checkUniqueEndpoint(tables, instance);
      tables.putInstance(instance);
      events.push({ revision, kind: "instance-put", instance });
      return;
    }
    case "set-intention": {
      applyIntention(tables, mutation, revision, events);
      return;
    }
    case "set-policy": {
      applyPolicy(tables, mutation, revision, events);
      return;
    }
    case "delete-instance": {
      if (!tables.getInstance(mutation.service, mutation.id)) return;
      tables.deleteInstance(mutation.service, mutation.id);
      events.push({ revision, kind: "instance-deleted", service: mutation.service, id: mutation.id });
      return;
    }
  }
}

/** Sets or (action absent) removes one intention on its destination's record, creating the destination with defaults to set one. */
function applyIntention(tables: Tables, mutation: Extract<Mutation, { kind: "set-intention" }>, revision: number, events: ChangeEvent[]): void {
  const current = tables.getService(mutation.destination);
  const intentions = { ...current?.intentions };
  if (mutation.action === undefined) {
    if (!current || !Object.hasOwn(intentions, mutation.source)) return;
    delete intentions[mutation.source];
  } else {
    intentions[mutation.source] = mutation.action;
  }
  const base = current ?? mutation.serviceDefaults;
  const { intentions: _old, ...rest } = base;
  const service = freezeService({ ...rest, ...(Object.keys(intentions).length > 0 && { intentions }) });
  tables.putService(service);
  events.push({ revision, kind: "service-put", service });
}

/** Sets or (policy absent) removes a service's traffic policy, creating the service with defaults to set one. */
function applyPolicy(tables: Tables, mutation: Extract<Mutation, { kind: "set-policy" }>, revision: number, events: ChangeEvent[]): void {
  const current = tables.getService(mutation.service);
  if (mutation.policy === undefined && current?.policy === undefined) return;
  const { policy: _old, ...rest } = current ?? mutation.serviceDefaults;
  const service = freezeService({ ...rest, ...(mutation.policy !== undefined && { policy: mutation.policy }) });
  tables.putService(service);
  events.push({ revision, kind: "service-put", service });
}

/**
 * Throws ConflictError when `instance` would take an address and port another
 * instance of its service has. Gated on the instance being new or moving: an
 * in-place update keeps its address and port even beside a duplicate that
 * predates this check, so health writes to such an instance still land (the
 * snapshot builder isolates that service until the duplicate is removed).
 */
function checkUniqueEndpoint(tables: Tables, instance: Instance): void {
  const before = tables.getInstance(instance.service, instance.id);
  if (before && before.address === instance.address && before.port === instance.port) return;
  const other = tables.findEndpoint(instance.service, instance.address, instance.port, instance.id);
  if (other === undefined) return;
  throw new ConflictError(
    `instance ${instance.id} of ${instance.service}: address ${instance.address} port ${instance.port} is already used by instance ${other}; ` +
      "each instance of a service needs its own address and port",
  );
}

/**
 * Applies `mutations` in order and returns their events, all stamped with
 * `revision`. An empty result means nothing changed: the caller must then
 * keep its old revision. Throws (from checkMutation, or ConflictError from a
 * `uniqueEndpoint` put) part-way through; the caller must discard whatever
 * was already written.
 */
export function applyMutations(tables: Tables, mutations: readonly Mutation[], revision: number): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  mutations.forEach((mutation, index) => {
    checkMutation(mutation, index);
    applyOne(tables, mutation, revision, events);
  });
  return events;
}
