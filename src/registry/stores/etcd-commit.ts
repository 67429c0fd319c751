import type { IKeyValue, IRequestOp, ITxnResponse } from "etcd3";
import type { Instance, Service } from "../model.js";
import type { ChangeEvent, Mutation } from "../store.js";
import { checkMutation, freezeInstance, freezeService, type Tables } from "./apply.js";
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
 * The value of the commit key, rewritten by every batch of commits that
 * changes something (etcd-batch.ts): the events of each commit of the batch
 * without their revision, and the store revision of the last one, so every
 * watcher decodes exactly the events the committing replica computed, one
 * commit at a time. `id` names the batch, which tells a batch whose answer
 * was lost apart from someone else's.
 *
 * Records written before group commit (format 1) have `events` (one commit)
 * and no `revision`: their revision is derived from the key's etcd revisions
 * (storeRevision). Replicas must all run a version that reads format 2
 * before any of them writes it.
 */
export interface CommitRecord {
  readonly id: string;
  /** Format 2: the store revision of the last commit in `commits`; commit i of n has `revision - n + 1 + i`. */
  readonly revision?: number;
  /** Format 2: each changing commit of the batch, in revision order. */
  readonly commits?: readonly (readonly RecordedEvent[])[];
  /** Format 1: the one commit's events. */
  readonly events?: readonly RecordedEvent[];
}

/** A ChangeEvent without its revision (Omit on each member of the union, so `kind` still narrows). */
export type RecordedEvent = ChangeEvent extends infer E ? (E extends ChangeEvent ? Omit<E, "revision"> : never) : never;

/** Where the commit key stands: the last batch's etcd revisions and store revision, or zeros before the first commit. */
export interface CommitPoint {
  readonly modRevision: number;
  readonly createRevision: number;
  readonly id?: string;
  /** The store revision a format-2 record states; absent for format 1. */
  readonly revision?: number;
}

/**
 * The store revision of the last commit at `point`. A format-2 record states
 * it: the store counts its own revisions, one per changing commit, however
 * many share an etcd txn. A format-1 record's is derived from etcd's: the
 * first commit under a prefix is revision 1 and each later one is etcd's
 * revision counted from there, revision = mod - (create - 1), where `create`
 * is the commit key's create revision. Either way every replica derives the
 * same number, it never goes down, and it starts at 0.
 */
export function storeRevision(point: CommitPoint): number {
  if (point.revision !== undefined) return point.revision;
  return point.modRevision === 0 ? 0 : point.modRevision - point.createRevision + 1;
}

export function commitPoint(kv: IKeyValue | undefined): CommitPoint {
  if (!kv) return { modRevision: 0, createRevision: 0 };
  const record = JSON.parse(kv.value.toString()) as Partial<CommitRecord>;
  return {
    modRevision: revisionOf(kv.mod_revision),
    createRevision: revisionOf(kv.create_revision),
    id: record.id,
    ...(typeof record.revision === "number" && { revision: record.revision }),
  };
}

/** What a commit needs to read, by key kind. */
export interface ReadPlan {
  readonly services: string[];
  readonly instances: [string, string][];
  /** Services whose instances are all read (delete-service lists them; a uniqueEndpoint put compares with them). */
  readonly wholeServices: string[];
}

/** Checks every mutation first (so nothing malformed reaches etcd), then lists the keys applying them reads. */
export function planReads(mutations: readonly Mutation[]): ReadPlan {
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

/** The plans of several commits as one, each key once. */
export function mergePlans(plans: readonly ReadPlan[]): ReadPlan {
  const instances = new Map(plans.flatMap((plan) => plan.instances.map((pair): [string, [string, string]] => [`${pair[0]}/${pair[1]}`, pair])));
  return {
    services: [...new Set(plans.flatMap((plan) => plan.services))],
    instances: [...instances.values()],
    wholeServices: [...new Set(plans.flatMap((plan) => plan.wholeServices))],
  };
}

/** The read txn's ops: the commit key, then each planned service, instance and whole service, in plan order. */
export function readOps(keys: RegistryKeys, plan: ReadPlan): IRequestOp[] {
  return [
    op.get(keys.commit),
    ...plan.services.map((name) => op.get(keys.service(name))),
    ...plan.instances.map(([service, id]) => op.get(keys.instance(service, id))),
    ...plan.wholeServices.map((name) => op.range(keys.instancesOf(name))),
  ];
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
export class DraftTables implements Tables {
  readonly services = new Map<string, Service | undefined>();
  readonly instances = new Map<string, Instance | undefined>();
  readonly whole = new Set<string>();
  /** Full key → new value (undefined: delete), in first-write order. */
  readonly writes = new Map<string, Service | Instance | undefined>();
  /** How to take back each change to the maps above since the draft was read, newest last. */
  private readonly undo: (() => void)[] = [];

  constructor(private readonly keys: RegistryKeys) {}

  /** A point to roll back to: each commit of a batch takes one, so a commit that throws undoes only itself. */
  mark(): number {
    return this.undo.length;
  }

  rollback(mark: number): void {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  private change<V>(map: Map<string, V>, key: string, value: V): void {
    const had = map.has(key);
    const before = map.get(key);
    this.undo.push(() => (had ? map.set(key, before as V) : map.delete(key)));
    map.set(key, value);
  }

  getService(name: string): Service | undefined {
    if (!this.services.has(name)) throw new Error(`etcd commit did not read service ${name}`);
    return this.services.get(name);
  }
  putService(service: Service): void {
    this.change(this.services, service.name, service);
    this.change(this.writes, this.keys.service(service.name), service);
  }
  deleteService(name: string): void {
    this.change(this.services, name, undefined);
    this.change(this.writes, this.keys.service(name), undefined);
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
    // The plan read the service whole for a unique-endpoint put (planReads); the index makes each check a lookup, not a scan.
    for (const [id, instance] of this.endpointsOf(service).get(endpointKey(address, port)) ?? []) if (id !== exceptId) return instance;
    return undefined;
  }
  putInstance(instance: Instance): void {
    const key = this.keys.instance(instance.service, instance.id);
    this.reindex(instance.service, this.instances.get(key), instance);
    this.change(this.instances, key, instance);
    this.change(this.writes, key, instance);
  }
  deleteInstance(service: string, id: string): void {
    const key = this.keys.instance(service, id);
    this.reindex(service, this.instances.get(key), undefined);
    this.change(this.instances, key, undefined);
    this.change(this.writes, key, undefined);
  }

  /** Per service read whole: address and port → the instances there, by id; made on first use, then kept with every put and delete. */
  private readonly endpoints = new Map<string, Map<string, Map<string, Instance>>>();

  private endpointsOf(service: string): Map<string, Map<string, Instance>> {
    let index = this.endpoints.get(service);
    if (index) return index;
    index = new Map();
    for (const instance of this.listInstances(service)) {
      const key = endpointKey(instance.address, instance.port);
      index.set(key, (index.get(key) ?? new Map()).set(instance.id, instance));
    }
    this.endpoints.set(service, index);
    // Rolled back past this point, the index may hold what was undone: drop it, and make it again when needed.
    this.undo.push(() => this.endpoints.delete(service));
    return index;
  }

  private reindex(service: string, before: Instance | undefined, after: Instance | undefined): void {
    const index = this.endpoints.get(service);
    if (!index) return;
    const move = (instance: Instance, add: boolean): void => {
      const key = endpointKey(instance.address, instance.port);
      const ids = index.get(key) ?? new Map<string, Instance>();
      index.set(key, ids);
      const had = ids.get(instance.id);
      if (add) ids.set(instance.id, instance);
      else ids.delete(instance.id);
      this.undo.push(() => (had ? ids.set(instance.id, had) : ids.delete(instance.id)));
    };
    if (before) move(before, false);
    if (after) move(after, true);
  }
}

const endpointKey = (address: string, port: number): string => `${port}/${address}`;

/** A draft over what the read txn of `plan` returned (`readOps` order). */
export function draftFrom(keys: RegistryKeys, plan: ReadPlan, response: ITxnResponse): DraftTables {
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

/**
 * The write ops of everything applied to `draft`, without the commit key. A
 * service that ends up deleted loses its instance keys by one range delete
 * (however many instances it had); every other write is one put or delete.
 */
export function writeOps(keys: RegistryKeys, draft: DraftTables): IRequestOp[] {
  const gone = new Set([...draft.services].filter(([name, value]) => !value && draft.whole.has(name)).map(([name]) => name));
  const ops = [...gone].map((name) => op.deletePrefix(keys.instancesOf(name)));
  for (const [key, value] of draft.writes) {
    if (key.startsWith(keys.instances) && gone.has(key.slice(keys.instances.length).split("/")[0]!)) continue;
    ops.push(value ? op.put(key, JSON.stringify(value)) : op.delete(key));
  }
  return ops;
}

/** Drops the revision from each event, for the commit record. */
export function recordEvents(events: readonly ChangeEvent[]): RecordedEvent[] {
  return events.map(({ revision: _revision, ...rest }) => rest as RecordedEvent);
}

/** One commit decoded from a record: its store revision and its events, frozen. */
export interface DecodedCommit {
  readonly revision: number;
  readonly events: ChangeEvent[];
}

/** The commits a commit key's value holds, in revision order (see CommitRecord). */
export function decodeRecord(kv: IKeyValue): DecodedCommit[] {
  const record = JSON.parse(kv.value.toString()) as CommitRecord;
  const last = storeRevision(commitPoint(kv));
  const commits = record.commits ?? [record.events ?? []];
  return commits.map((events, i) => {
    const revision = last - commits.length + 1 + i;
    return { revision, events: events.map((event) => decodeEvent(event, revision)) };
  });
}

function decodeEvent(event: RecordedEvent, revision: number): ChangeEvent {
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
}
