import type { IKeyValue, IRequestOp } from "etcd3";
import type { Instance, Service } from "../model.js";
import type { ChangeEvent, Mutation } from "../store.js";
import { checkMutation, freezeInstance, freezeService } from "./apply.js";
import { op, revisionOf } from "./etcd-kv.js";

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
  /**
   * The unique-endpoint index: `endpoints/<service>/<port>/<address>/<id>`
   * for every instance, kept by every commit, so a registration checks its
   * address and port with one small range read instead of reading its
   * service whole. This is the prefix of one address and port's entries.
   */
  endpoint(service: string, address: string, port: number): string;
  /** Every endpoint index key of `service`. */
  endpointsOf(service: string): string;
  /** Present once the endpoint index holds every instance (etcd-endpoint-index.ts). */
  readonly endpointIndexReady: string;
}

export function registryKeys(prefix: string): RegistryKeys {
  return {
    commit: `${prefix}commit`,
    services: `${prefix}services/`,
    instances: `${prefix}instances/`,
    service: (name) => `${prefix}services/${name}`,
    instance: (service, id) => `${prefix}instances/${service}/${id}`,
    instancesOf: (service) => `${prefix}instances/${service}/`,
    endpoint: (service, address, port) => `${prefix}endpoints/${service}/${port}/${address}/`,
    endpointsOf: (service) => `${prefix}endpoints/${service}/`,
    endpointIndexReady: `${prefix}endpoint-index`,
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
  /** Instances read by key: each put's and delete's own, so its old address and port can leave the endpoint index. */
  readonly instances: [string, string][];
  /** The endpoint index entries of an address and port (service, address, port): a uniqueEndpoint put's check. */
  readonly endpoints: [string, string, number][];
  /** Services whose instances are all read: delete-service lists them. */
  readonly wholeServices: string[];
}

/** Checks every mutation first (so nothing malformed reaches etcd), then lists the keys applying them reads. */
export function planReads(mutations: readonly Mutation[]): ReadPlan {
  mutations.forEach(checkMutation);
  const services = new Set<string>();
  const instances = new Map<string, [string, string]>();
  const endpoints = new Map<string, [string, string, number]>();
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
      case "set-intention":
        services.add(m.destination);
        break;
      case "set-policy":
        services.add(m.service);
        break;
      case "put-instance": {
        const { service, id, address, port } = m.instance;
        services.add(service);
        instances.set(`${service}/${id}`, [service, id]);
        // The txn's guard on the commit key makes the check atomic with the write.
        if (m.uniqueEndpoint) endpoints.set(`${service}/${port}/${address}`, [service, address, port]);
        break;
      }
      case "delete-instance":
        instances.set(`${m.service}/${m.id}`, [m.service, m.id]);
        break;
    }
  }
  return { services: [...services], instances: [...instances.values()], endpoints: [...endpoints.values()], wholeServices: [...whole] };
}

/** The plans of several commits as one, each key once; `wouldCount` says what adding a plan would make of the read txn. */
export class PlanUnion {
  private readonly services = new Set<string>();
  private readonly instances = new Map<string, [string, string]>();
  private readonly endpoints = new Map<string, [string, string, number]>();
  private readonly whole = new Set<string>();

  /** readOpCount of the union with `plan` added. */
  wouldCount(plan: ReadPlan): number {
    let count = 1 + this.services.size + this.instances.size + this.endpoints.size + this.whole.size;
    count += plan.services.filter((name) => !this.services.has(name)).length;
    count += plan.instances.filter(([service, id]) => !this.instances.has(`${service}/${id}`)).length;
    count += plan.endpoints.filter(([service, address, port]) => !this.endpoints.has(`${service}/${port}/${address}`)).length;
    return count + plan.wholeServices.filter((name) => !this.whole.has(name)).length;
  }

  add(plan: ReadPlan): void {
    for (const name of plan.services) this.services.add(name);
    for (const pair of plan.instances) this.instances.set(`${pair[0]}/${pair[1]}`, pair);
    for (const entry of plan.endpoints) this.endpoints.set(`${entry[0]}/${entry[2]}/${entry[1]}`, entry);
    for (const name of plan.wholeServices) this.whole.add(name);
  }

  plan(): ReadPlan {
    return { services: [...this.services], instances: [...this.instances.values()], endpoints: [...this.endpoints.values()], wholeServices: [...this.whole] };
  }
}

/** How many operations the read txn of `plan` holds. */
export const readOpCount = (plan: ReadPlan): number => 1 + plan.services.length + plan.instances.length + plan.endpoints.length + plan.wholeServices.length;

/** The read txn's ops: the commit key, then each planned service, instance, endpoint and whole service, in plan order. */
export function readOps(keys: RegistryKeys, plan: ReadPlan): IRequestOp[] {
  return [
    op.get(keys.commit),
    ...plan.services.map((name) => op.get(keys.service(name))),
    ...plan.instances.map(([service, id]) => op.get(keys.instance(service, id))),
    ...plan.endpoints.map(([service, address, port]) => op.range(keys.endpoint(service, address, port), true)),
    ...plan.wholeServices.map((name) => op.range(keys.instancesOf(name))),
  ];
}

/** A service as stored under `services/<name>`, frozen. */
export const parseService = (kv: IKeyValue): Service => freezeService(JSON.parse(kv.value.toString()) as Service);
/** An instance as stored under `instances/<service>/<id>`, frozen. */
export const parseInstance = (kv: IKeyValue): Instance => freezeInstance(JSON.parse(kv.value.toString()) as Instance);

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
  const last = storeRevision({ modRevision: revisionOf(kv.mod_revision), createRevision: revisionOf(kv.create_revision), ...(typeof record.revision === "number" && { revision: record.revision }) });
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
