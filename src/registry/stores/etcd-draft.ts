import type { IRequestOp, ITxnResponse } from "etcd3";
import type { Instance, Service } from "../model.js";
import type { Tables } from "./apply.js";
import { parseInstance, parseService, type ReadPlan, type RegistryKeys } from "./etcd-commit.js";
import { op, rangeAt } from "./etcd-kv.js";

/** A write of the draft: a service or instance (JSON), an endpoint index entry (the instance id), or undefined for a delete. */
type Write = Service | Instance | string | undefined;

/**
 * Tables over what a batch's read txn returned, for the commits of one batch
 * in turn. Reads of keys the plan did not fetch are a bug in planReads and
 * throw. Writes are collected per key, last one wins (an etcd txn may not
 * touch a key twice), and every change can be rolled back to a mark, so a
 * commit that throws undoes only itself. Puts and deletes of instances keep
 * the endpoint index (RegistryKeys.endpoint) with them.
 */
export class DraftTables implements Tables {
  readonly services = new Map<string, Service | undefined>();
  readonly instances = new Map<string, Instance | undefined>();
  readonly whole = new Set<string>();
  /** Endpoint index prefix read (one address and port) → the ids there now. */
  readonly endpoints = new Map<string, Set<string>>();
  /** Full key → new value, in first-write order. */
  readonly writes = new Map<string, Write>();
  /** How to take back each change since the draft was read, newest last. */
  private readonly undo: (() => void)[] = [];

  constructor(private readonly keys: RegistryKeys) {}

  /** A point to roll back to: each commit of a batch takes one. */
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
  findEndpoint(service: string, address: string, port: number, exceptId: string): string | undefined {
    const ids = this.endpoints.get(this.keys.endpoint(service, address, port));
    if (ids) {
      for (const id of ids) if (id !== exceptId) return id;
      return undefined;
    }
    // Not read as an endpoint (a put without the check earlier in the batch never asks): only a service read whole can answer.
    return this.listInstances(service).find((i) => i.id !== exceptId && i.address === address && i.port === port)?.id;
  }
  putInstance(instance: Instance): void {
    const before = this.getInstance(instance.service, instance.id);
    if (!before || before.address !== instance.address || before.port !== instance.port) {
      if (before) this.unindex(before);
      this.index(instance);
    }
    const key = this.keys.instance(instance.service, instance.id);
    this.change(this.instances, key, instance);
    this.change(this.writes, key, instance);
  }
  deleteInstance(service: string, id: string): void {
    const before = this.getInstance(service, id);
    if (before) this.unindex(before);
    const key = this.keys.instance(service, id);
    this.change(this.instances, key, undefined);
    this.change(this.writes, key, undefined);
  }

  private index(instance: Instance): void {
    this.indexEntry(instance, true);
  }
  private unindex(instance: Instance): void {
    this.indexEntry(instance, false);
  }
  private indexEntry(instance: Instance, present: boolean): void {
    const prefix = this.keys.endpoint(instance.service, instance.address, instance.port);
    this.change(this.writes, `${prefix}${instance.id}`, present ? instance.id : undefined);
    const ids = this.endpoints.get(prefix);
    if (!ids) return;
    const had = ids.has(instance.id);
    if (present) ids.add(instance.id);
    else ids.delete(instance.id);
    this.undo.push(() => (had ? ids.add(instance.id) : ids.delete(instance.id)));
  }
}

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
  for (const [service, address, port] of plan.endpoints) {
    const prefix = keys.endpoint(service, address, port);
    draft.endpoints.set(prefix, new Set(rangeAt(response, index++).map((kv) => kv.key.toString().slice(prefix.length))));
  }
  for (const name of plan.wholeServices) {
    for (const kv of rangeAt(response, index++)) draft.instances.set(kv.key.toString(), parseInstance(kv));
    draft.whole.add(name);
  }
  return draft;
}

/** Services the draft deletes whose instances it read whole: their instance and endpoint keys go by two range deletes. */
function goneServices(draft: DraftTables): Set<string> {
  return new Set([...draft.services].filter(([name, value]) => !value && draft.whole.has(name)).map(([name]) => name));
}

/** At least as many ops as writeOps(draft) gives. */
export function writeOpsBound(draft: DraftTables): number {
  return draft.writes.size + 2 * goneServices(draft).size;
}

/**
 * The write ops of everything applied to `draft`, without the commit key. A
 * service that ends up deleted loses its instance and endpoint keys by two
 * range deletes (however many instances it had); every other write is one
 * put or delete.
 */
export function writeOps(keys: RegistryKeys, draft: DraftTables): IRequestOp[] {
  const gone = [...goneServices(draft)];
  const ops = gone.flatMap((name) => [op.deletePrefix(keys.instancesOf(name)), op.deletePrefix(keys.endpointsOf(name))]);
  const covered = gone.flatMap((name) => [keys.instancesOf(name), keys.endpointsOf(name)]);
  for (const [key, value] of draft.writes) {
    if (covered.some((prefix) => key.startsWith(prefix))) continue;
    if (value === undefined) ops.push(op.delete(key));
    else ops.push(op.put(key, typeof value === "string" ? value : JSON.stringify(value)));
  }
  return ops;
}
