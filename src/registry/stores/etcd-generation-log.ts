import type { Etcd3, IRequestOp } from "etcd3";
import { UnavailableError, ValidationError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import type { GenerationLog, StoredGeneration, StoredResource } from "../generation-log.js";
import { op, rangeAt, revisionOf, txn } from "./etcd-kv.js";
import { compareResources, readGenerationInput, resourceKey, type GenerationInput, type HashedResource } from "./generation-log-input.js";

/**
 * The GenerationLog's keys under the store's prefix, mirroring the sqlite
 * tables: `generations/<id>` holds the record JSON, `generation-resources/<id>`
 * the generation's [typeUrl, name, sha256] triples, and `bodies/<sha256>` each
 * body once, however many generations list it. Ids are zero-padded to 16
 * digits so etcd's key order is id order. `generation-log` is a marker every
 * put and retain rewrites, so each notices the other and retries.
 */
interface GenerationKeys {
  readonly records: string;
  readonly refs: string;
  readonly bodies: string;
  readonly marker: string;
  record(id: number): string;
  refsOf(id: number): string;
  body(hash: string): string;
}

function generationKeys(prefix: string): GenerationKeys {
  const pad = (id: number): string => String(id).padStart(16, "0");
  return {
    records: `${prefix}generations/`,
    refs: `${prefix}generation-resources/`,
    bodies: `${prefix}bodies/`,
    marker: `${prefix}generation-log`,
    record: (id) => `${prefix}generations/${pad(id)}`,
    refsOf: (id) => `${prefix}generation-resources/${pad(id)}`,
    body: (hash) => `${prefix}bodies/${hash}`,
  };
}

/** [typeUrl, name, sha256 hex] */
type Ref = [string, string, string];

/** etcd refuses a txn of more than 128 operations by default (--max-txn-ops) and a request over 1.5 MiB. */
const MAX_OPS = 100;
const MAX_BYTES = 1024 * 1024;
/** Puts and retains only conflict with each other; a few tries are plenty. */
const MAX_ATTEMPTS = 20;

export interface EtcdGenerationLogOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly logger: Logger;
  /** Throws UnavailableError once the owning store is closed. */
  ensureOpen(): void;
  /** Turns a failure of `what` into the error to throw (see etcdFailure). */
  failure(what: string, err: unknown): Error;
}

/** Splits `items` into runs of at most MAX_OPS items and MAX_BYTES by `size` (a run always takes at least one item). */
function chunks<T>(items: readonly T[], size: (item: T) => number = () => 0): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (run.length > 0 && (run.length >= MAX_OPS || bytes + size(item) > MAX_BYTES)) {
      out.push(run);
      run = [];
      bytes = 0;
    }
    run.push(item);
    bytes += size(item);
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** What the functions below share. */
interface LogContext {
  readonly client: Etcd3;
  readonly keys: GenerationKeys;
  readonly logger: Logger;
}

/** Puts the bodies etcd does not hold yet. */
async function writeBodies({ client, keys }: LogContext, resources: readonly HashedResource[]): Promise<void> {
  const unique = [...new Map(resources.map((r) => [r.hash, r.body])).entries()];
  const missing: [string, Uint8Array][] = [];
  for (const run of chunks(unique)) {
    const found = await txn(client, run.map(([hash]) => ({ request_range: { key: Buffer.from(keys.body(hash)), keys_only: true } })));
    run.forEach((entry, index) => {
      if (rangeAt(found, index).length === 0) missing.push(entry);
    });
  }
  for (const run of chunks(missing, ([, body]) => body.byteLength)) {
    await txn(client, run.map(([hash, body]) => op.put(keys.body(hash), body)));
  }
}

/** The ids that have a resource list, ascending. */
async function idsWithResources({ client, keys }: LogContext): Promise<number[]> {
  const kvs = rangeAt(await txn(client, [op.range(keys.refs, true)]), 0);
  return kvs.map((kv) => Number(kv.key.toString().slice(keys.refs.length))).sort((a, b) => a - b);
}

/**
 * The whole resource list `input` gives its generation, or undefined when
 * the put keeps what is stored, under the contract's order rules. Changes
 * are applied to the newest list here: etcd keeps one list per generation
 * (a known gap against the sqlite backend's spans: about 80 bytes per
 * resource per generation), but only the changed bodies are written.
 */
async function resourcesOf(context: LogContext, input: GenerationInput): Promise<{ refs: Ref[]; bodies: HashedResource[] } | undefined> {
  if (!input.resources && !input.changes) return undefined;
  const ids = await idsWithResources(context);
  const newest = ids.at(-1);
  if (input.changes && input.changes.base !== newest) {
    throw new ValidationError([{ path: "resources.base", message: `must be ${newest ?? "(none: give the resources whole)"}, the newest generation stored with resources, got ${input.changes.base}` }]);
  }
  if (newest !== undefined && input.id < newest) {
    if (ids.includes(input.id)) return undefined;
    throw new ValidationError([{ path: "id", message: `resources can be given for generation ${newest}, the newest stored with them, or a newer one; got ${input.id}` }]);
  }
  if (input.resources) return { refs: input.resources.map((r): Ref => [r.typeUrl, r.name, r.hash]), bodies: [...input.resources] };
  const changes = input.changes!;
  const [kv] = rangeAt(await txn(context.client, [op.get(context.keys.refsOf(changes.base))]), 0);
  const current = new Map<string, Ref>();
  for (const ref of kv ? (JSON.parse(kv.value.toString()) as Ref[]) : []) current.set(resourceKey(ref[0], ref[1]), ref);
  for (const removal of changes.removals) current.delete(resourceKey(removal.typeUrl, removal.name));
  for (const upsert of changes.upserts) current.set(resourceKey(upsert.typeUrl, upsert.name), [upsert.typeUrl, upsert.name, upsert.hash]);
  return { refs: [...current.values()].sort((a, b) => compareResources({ typeUrl: a[0], name: a[1] }, { typeUrl: b[0], name: b[1] })), bodies: [...changes.upserts] };
}

/** Bodies first, then record and resource list in one txn guarded by the marker; starts over when a retain got in between. */
async function putGeneration(context: LogContext, input: GenerationInput): Promise<void> {
  const { client, keys } = context;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const [marker] = rangeAt(await txn(client, [op.get(keys.marker)]), 0);
    const resources = await resourcesOf(context, input);
    if (resources) await writeBodies(context, resources.bodies);
    const ops: IRequestOp[] = [op.put(keys.record(input.id), input.json), op.put(keys.marker, `put ${input.id}`)];
    if (resources?.refs.length) ops.push(op.put(keys.refsOf(input.id), JSON.stringify(resources.refs)));
    else if (resources) ops.push(op.delete(keys.refsOf(input.id)));
    const written = await txn(client, ops, [{ key: keys.marker, modRevision: revisionOf(marker?.mod_revision) }]);
    if (written.succeeded) return;
    context.logger.debug({ id: input.id, attempt }, "generation put raced a retain or another put; trying again");
  }
  throw new UnavailableError(`generation ${input.id} could not be written: other replicas kept changing the generation log`);
}

async function readResources({ client, keys }: LogContext, id: number): Promise<StoredResource[] | undefined> {
  const response = await txn(client, [op.get(keys.refsOf(id))]);
  const [kv] = rangeAt(response, 0);
  if (!kv) return undefined;
  const refs = JSON.parse(kv.value.toString()) as Ref[];
  // Read at the refs' revision, so a retain that ran since cannot have taken the bodies away.
  const at = revisionOf(response.header.revision);
  const bodies = new Map<string, Buffer>();
  for (const run of chunks([...new Set(refs.map(([, , hash]) => hash))])) {
    const found = await txn(client, run.map((hash) => ({ request_range: { key: Buffer.from(keys.body(hash)), revision: at } })));
    run.forEach((hash, index) => {
      const [body] = rangeAt(found, index);
      if (body) bodies.set(hash, body.value);
    });
  }
  return refs
    .map(([typeUrl, name, hash]): StoredResource => {
      const body = bodies.get(hash);
      if (!body) throw new UnavailableError(`generation ${id} lists body ${hash}, which etcd does not hold`);
      return { typeUrl, name, body: new Uint8Array(body) };
    })
    .sort(compareResources);
}

async function listGenerations({ client, keys }: LogContext): Promise<StoredGeneration[]> {
  const kvs = rangeAt(await txn(client, [op.range(keys.records)]), 0);
  return kvs
    .map((kv): StoredGeneration => ({ id: Number(kv.key.toString().slice(keys.records.length)), record: JSON.parse(kv.value.toString()) as Record<string, unknown> }))
    .sort((a, b) => a.id - b.id);
}

/** One pass of retain; false when a concurrent put or retain got in the way and it must start over. */
async function retainOnce({ client, keys }: LogContext, keep: ReadonlySet<number>): Promise<boolean> {
  const read = await txn(client, [op.get(keys.marker), op.range(keys.records, true), op.range(keys.refs), op.range(keys.bodies, true)]);
  const idOf = (key: Buffer, prefix: string): number => Number(key.toString().slice(prefix.length));
  const drops: IRequestOp[] = [];
  for (const kv of rangeAt(read, 1)) if (!keep.has(idOf(kv.key, keys.records))) drops.push(op.delete(kv.key.toString()));
  const used = new Set<string>();
  for (const kv of rangeAt(read, 2)) {
    if (!keep.has(idOf(kv.key, keys.refs))) drops.push(op.delete(kv.key.toString()));
    else for (const [, , hash] of JSON.parse(kv.value.toString()) as Ref[]) used.add(hash);
  }
  // Bodies go last, so a retain cut short never leaves a kept generation without its bodies.
  for (const kv of rangeAt(read, 3)) if (!used.has(kv.key.toString().slice(keys.bodies.length))) drops.push(op.delete(kv.key.toString()));
  let marker = revisionOf(rangeAt(read, 0)[0]?.mod_revision);
  for (const run of chunks(drops)) {
    const written = await txn(client, [...run, op.put(keys.marker, "retain")], [{ key: keys.marker, modRevision: marker }]);
    if (!written.succeeded) return false;
    marker = revisionOf(written.header.revision);
  }
  return true;
}

/**
 * A GenerationLog in etcd, shared by every replica on the same prefix. `put`
 * writes the bodies a generation needs first (harmless alone: retain drops
 * bodies no generation lists), then the record and its resource list in one
 * txn, guarded by the marker so a retain that ran in between (and may have
 * dropped those bodies) makes it start over. `retain` reads everything at one
 * revision and deletes in txns of at most MAX_OPS, each guarded by the
 * marker, so a concurrent put makes it start over rather than drop a body
 * that put just listed.
 */
export function createEtcdGenerationLog(options: EtcdGenerationLogOptions): GenerationLog {
  const context: LogContext = { client: options.client, keys: generationKeys(options.prefix), logger: options.logger };
  const guarded = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    options.ensureOpen();
    try {
      return await run();
    } catch (err) {
      throw options.failure(`generations.${what}`, err);
    }
  };
  return {
    put: (generation, resources) => guarded("put", () => putGeneration(context, readGenerationInput(generation, resources))),
    list: () => guarded("list", () => listGenerations(context)),
    resources: (id) => guarded("resources", () => readResources(context, id)),
    retain: (keep) =>
      guarded("retain", async () => {
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
          if (await retainOnce(context, keep)) return;
          options.logger.debug({ attempt }, "generation retain raced a put; trying again");
        }
        throw new UnavailableError("generations could not be pruned: other replicas kept changing the generation log");
      }),
  };
}
