import type { IKeyValue, IRequestOp, ITxnResponse } from "etcd3";
import type { Instance, Service } from "../model.js";
import type { ChangeEvent, Mutation } from "../store.js";
import { applyMutations, checkMutation, freezeInstance, freezeService, type Tables } from "./apply.js";
import { op, rangeAt, revisionOf } from "./etcd-kv.js";

/**
 * The registry's keys under the store's prefix, and how one commit is
 * worked out on them: read the keys the mutations touch, apply the
 * mutations (apply.ts, shared with every backend) to a draft of what was
 * read, and turn the draft's writes into the operations of one etcd txn.
 */
export interface RegistryKeys {
  /** Rewritten by every commit that changes something; see CommitRecord. */
  readonly commit: string;
  readonly services: string;
  readonly instances: string;
  service(name: string): string;
  instance(service: string, id: string): string;
  /** Every instance key of `service`. */
  instancesOf(service: string): string;
}

export function registryKeys(prefix: string): RegistryKeys {
  return {
    commit: `${prefix}commit`,
    services: `${prefix}services/`,
    instances: `${prefix}instances/`,
    service: (name) => `${prefix}services/${name}`,
    instance: (service, id) => `${prefix}instances/${service}/${id}`,
    instancesOf: (service) => `${prefix}instances/${service}/`,
  };
}

/**
 * The value of the commit key: the commit's events without their revision
 * (the key's mod revision supplies it), so every watcher decodes exactly the
 * events the committing replica computed, and `id`, which tells a commit
 * whose answer was lost apart from someone else's.
 */
export interface CommitRecord {
  readonly id: string;
  readonly events: readonly RecordedEvent[];
}

/** A ChangeEvent without its revision (Omit on each member of the union, so `kind` still narrows). */
export type RecordedEvent = ChangeEvent extends infer E ? (E extends ChangeEvent ? Omit<E, "revision"> : never) : never;

/** Where the commit key stands: the last commit's etcd revisions, or zeros before the first commit. */
export interface CommitPoint {
  readonly modRevision: number;
  readonly createRevision: number;
  readonly id?: string;
}

/**
 * The store revision of the commit at etcd revision `modRevision`. The first
 * commit under a prefix is revision 1 and each later one is etcd's revision
 * counted from there: revision = mod - (create - 1), where `create` is the
 * commit key's create revision. So every replica derives the same number, it
 * rises with etcd's, and it starts at 0 however busy the etcd is.
 */
export function storeRevision(point: CommitPoint): number {
  return point.modRevision === 0 ? 0 : point.modRevision - point.createRevision + 1;
}

export function commitPoint(kv: IKeyValue | undefined): CommitPoint {
  if (!kv) return { modRevision: 0, createRevision: 0 };
  const record = JSON.parse(kv.value.toString()) as Partial<CommitRecord>;
  return { modRevision: revisionOf(kv.mod_revision), createRevision: revisionOf(kv.create_revision), id: record.id };
}

/** What a commit needs to read, by key kind. */
interface ReadPlan {
  readonly services: string[];
  readonly instances: [string, string][];
  /** Services whose instances are all read (delete-service lists them; a uniqueEndpoint put compares with them). */
  readonly wholeServices: string[];
}

/** Checks every mutation first (so nothing malformed reaches etcd), then lists the keys applying them reads. */
function planReads(mutations: readonly Mutation[]): ReadPlan {
  mutations.forEach(checkMutation);
  const services = new Set<string>();
  const instances = new Map<string, [string, string]>();
  const whole = new Set<string>();
  for (const m of mutations) {
    switch (m.kind) {
      case "put-service":
        services.add(m.service.name);
        break;
      case "delete-service":
        services.add(m.name);
        whole.add(m.name);
        break;
      case "put-instance":
        services.add(m.instance.service);
        // The unique-endpoint check compares with every instance of the service; the txn's guard on the commit key makes it atomic.
        if (m.uniqueEndpoint) whole.add(m.instance.service);
        break;
      case "delete-instance":
        instances.set(`${m.service}/${m.id}`, [m.service, m.id]);
        break;
    }
  }
  return { services: [...services], instances: [...instances.values()], wholeServices: [...whole] };
}

/** The read txn's ops: the commit key, then each planned service, instance and whole service, in plan order. */
export function readOps(keys: RegistryKeys, mutations: readonly Mutation[]): { ops: IRequestOp[]; plan: ReadPlan } {
  const plan = planReads(mutations);
  const ops = [
    op.get(keys.commit),
    ...plan.services.map((name) => op.get(keys.service(name))),
    ...plan.instances.map(([service, id]) => op.get(keys.instance(service, id))),
    ...plan.wholeServices.map((name) => op.range(keys.instancesOf(name))),
  ];
  return { ops, plan };
}

/** A service as stored under `services/<name>`, frozen. */
export const parseService = (kv: IKeyValue): Service => freezeService(JSON.parse(kv.value.toString()) as Service);
/** An instance as stored under `instances/<service>/<id>`, frozen. */
export const parseInstance = (kv: IKeyValue): Instance => freezeInstance(JSON.parse(kv.value.toString()) as Instance);

/**
 * Tables over what the read txn returned. Reads of keys the plan did not
 * fetch are a bug in planReads and throw. Writes are collected per key, last
 * one wins: an etcd txn may not touch a key twice.
 */
class DraftTables implements Tables {
  readonly services = new Map<string, Service | undefined>();
  readonly instances = new Map<string, Instance | undefined>();
  readonly whole = new Set<string>();
  /** Full key → new value (undefined: delete), in first-write order. */
  readonly writes = new Map<string, Service | Instance | undefined>();

  constructor(private readonly keys: RegistryKeys) {}

  getService(name: string): Service | undefined {
    if (!this.services.has(name)) throw new Error(`etcd commit did not read service ${name}`);
    return this.services.get(name);
  }
  putService(service: Service): void {
    this.services.set(service.name, service);
    this.writes.set(this.keys.service(service.name), service);
  }
  deleteService(name: string): void {
    this.services.set(name, undefined);
    this.writes.set(this.keys.service(name), undefined);
  }
  getInstance(service: string, id: string): Instance | undefined {
    const key = this.keys.instance(service, id);
    if (!this.instances.has(key) && !this.whole.has(service)) throw new Error(`etcd commit did not read instance ${service}/${id}`);
    return this.instances.get(key);
  }
  listInstances(service: string): readonly Instance[] {
    if (!this.whole.has(service)) throw new Error(`etcd commit did not read the instances of ${service}`);
    const prefix = this.keys.instancesOf(service);
    const list = [...this.instances].filter(([key, value]) => key.startsWith(prefix) && value).map(([, value]) => value!);
    return list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  findEndpoint(service: string, address: string, port: number, exceptId: string): Instance | undefined {
    // The plan read the service whole for a unique-endpoint put (planReads): scanned here.
    return this.listInstances(service).find((i) => i.id !== exceptId && i.address === address && i.port === port);
  }
  putInstance(instance: Instance): void {
    const key = this.keys.instance(instance.service, instance.id);
    this.instances.set(key, instance);
    this.writes.set(key, instance);
  }
  deleteInstance(service: string, id: string): void {
    const key = this.keys.instance(service, id);
    this.instances.set(key, undefined);
    this.writes.set(key, undefined);
  }
}

function draftFrom(keys: RegistryKeys, plan: ReadPlan, response: ITxnResponse): DraftTables {
  const draft = new DraftTables(keys);
  let index = 1;
  for (const name of plan.services) {
    const [kv] = rangeAt(response, index++);
    draft.services.set(name, kv && parseService(kv));
  }
  for (const [service, id] of plan.instances) {
    const [kv] = rangeAt(response, index++);
    draft.instances.set(keys.instance(service, id), kv && parseInstance(kv));
  }
  for (const name of plan.wholeServices) {
    for (const kv of rangeAt(response, index++)) draft.instances.set(kv.key.toString(), parseInstance(kv));
    draft.whole.add(name);
  }
  return draft;
}

/** The result of working a commit out against what was read. */
export interface CommitDraft {
  /** Stamped with `revision` given to draftCommit; the caller restamps them once etcd says the real one. */
  readonly events: ChangeEvent[];
  /** The txn's write ops, without the commit key. */
  readonly ops: IRequestOp[];
}

/**
 * Applies `mutations` to what the read txn returned (`readOps` order). A
 * service that ends up deleted loses its instance keys by one range delete
 * (however many instances it had); every other write is one put or delete.
 * Throws ValidationError (from apply.ts) for a malformed mutation.
 */
export function draftCommit(keys: RegistryKeys, plan: ReadPlan, response: ITxnResponse, mutations: readonly Mutation[], revision: number): CommitDraft {
  const draft = draftFrom(keys, plan, response);
  const events = applyMutations(draft, mutations, revision);
  const gone = new Set([...draft.services].filter(([name, value]) => !value && draft.whole.has(name)).map(([name]) => name));
  const ops = [...gone].map((name) => op.deletePrefix(keys.instancesOf(name)));
  for (const [key, value] of draft.writes) {
    if (key.startsWith(keys.instances) && gone.has(key.slice(keys.instances.length).split("/")[0]!)) continue;
    ops.push(value ? op.put(key, JSON.stringify(value)) : op.delete(key));
  }
  return { events, ops };
}

/** Drops the revision from each event, for the commit record. */
export function recordEvents(events: readonly ChangeEvent[]): RecordedEvent[] {
  return events.map(({ revision: _revision, ...rest }) => rest as RecordedEvent);
}

/** The events of a commit record, stamped with `revision` and frozen. */
export function decodeRecord(value: Buffer, revision: number): ChangeEvent[] {
  const record = JSON.parse(value.toString()) as CommitRecord;
  return record.events.map((event): ChangeEvent => {
    switch (event.kind) {
      case "service-put":
        return Object.freeze({ revision, kind: event.kind, service: freezeService(event.service) });
      case "instance-put":
        return Object.freeze({ revision, kind: event.kind, instance: freezeInstance(event.instance) });
      case "service-deleted":
        return Object.freeze({ revision, kind: event.kind, name: event.name });
      case "instance-deleted":
        return Object.freeze({ revision, kind: event.kind, service: event.service, id: event.id });
      default:
        throw new Error(`commit record holds an event of unknown kind ${JSON.stringify((event as { kind?: unknown }).kind)}`);
    }
  });
}
