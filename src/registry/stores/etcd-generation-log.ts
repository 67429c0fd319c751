import type { Etcd3, IKeyValue, IRequestOp, ITxnResponse } from "etcd3";
import { UnavailableError, ValidationError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import type { GenerationLog, StoredGeneration, StoredResource } from "../generation-log.js";
import { chainOf, decodeEntry, encodeEntry, fold, replay, type ChainEntry, type ChainHead, type Ref, type RefKey } from "./etcd-generation-chain.js";
import { op, rangeAt, revisionOf, txn } from "./etcd-kv.js";
import { compareResources, readGenerationInput, type GenerationInput, type HashedResource } from "./generation-log-input.js";

/**
 * The GenerationLog's keys under the store's prefix: `generations/<id>`
 * holds the record JSON, `generation-heads/<id>` a generation's ChainHead
 * (its resources as changes against an older generation, or whole: see
 * etcd-generation-chain.ts), `generation-parts/<id>/<tag>/<n>` the entry's
 * JSON in parts, and `bodies/<sha256>` each body once, however many
 * generations use it. A one-resource change so writes a head, one small part
 * and one body. `generation-resources/<id>` is where earlier versions kept a
 * whole [typeUrl, name, sha256] list per generation: still read (as a whole
 * entry) and pruned, never written. Ids are zero-padded to 16 digits so
 * etcd's key order is id order. `generation-log` is a marker every put and
 * retain rewrites, so each notices the other and retries.
 */
interface GenerationKeys {
  readonly records: string;
  readonly legacy: string;
  readonly heads: string;
  readonly parts: string;
  readonly bodies: string;
  readonly marker: string;
  record(id: number): string;
  legacyOf(id: number): string;
  head(id: number): string;
  partsOf(id: number, tag: string): string;
  part(id: number, tag: string, index: number): string;
  body(hash: string): string;
}

function generationKeys(prefix: string): GenerationKeys {
  const pad = (id: number): string => String(id).padStart(16, "0");
  const partsOf = (id: number, tag: string): string => `${prefix}generation-parts/${pad(id)}/${tag}/`;
  return {
    records: `${prefix}generations/`,
    legacy: `${prefix}generation-resources/`,
    heads: `${prefix}generation-heads/`,
    parts: `${prefix}generation-parts/`,
    bodies: `${prefix}bodies/`,
    marker: `${prefix}generation-log`,
    record: (id) => `${prefix}generations/${pad(id)}`,
    legacyOf: (id) => `${prefix}generation-resources/${pad(id)}`,
    head: (id) => `${prefix}generation-heads/${pad(id)}`,
    partsOf,
    part: (id, tag, index) => `${partsOf(id, tag)}${String(index).padStart(6, "0")}`,
    body: (hash) => `${prefix}bodies/${hash}`,
  };
}

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

/** A stored generation's resources: a head, or a whole list in the old layout. */
type Stored = { readonly kind: "head"; readonly head: ChainHead } | { readonly kind: "legacy" };

/** The generations stored with resources, read at one revision, with the marker's mod revision then. */
interface LogState {
  readonly revision: number;
  readonly marker: number;
  readonly stored: ReadonlyMap<number, Stored>;
}

const idAfter = (kv: IKeyValue, prefix: string): number => Number(kv.key.toString().slice(prefix.length, prefix.length + 16));

async function readState({ client, keys }: LogContext): Promise<LogState> {
  const read = await txn(client, [op.get(keys.marker), op.range(keys.heads), op.range(keys.legacy, true)]);
  const stored = new Map<number, Stored>();
  for (const kv of rangeAt(read, 2)) stored.set(idAfter(kv, keys.legacy), { kind: "legacy" });
  for (const kv of rangeAt(read, 1)) stored.set(idAfter(kv, keys.heads), { kind: "head", head: JSON.parse(kv.value.toString()) as ChainHead });
  return { revision: revisionOf(read.header.revision), marker: revisionOf(rangeAt(read, 0)[0]?.mod_revision), stored };
}

const baseIn = (state: LogState) => (id: number): number | null | undefined => {
  const stored = state.stored.get(id);
  return stored === undefined ? undefined : stored.kind === "legacy" ? null : stored.head.base;
};

/** The entries of generations `ids`, read at the state's revision (so a retain since cannot have taken them away). */
async function readEntries({ client, keys }: LogContext, state: LogState, ids: readonly number[]): Promise<Map<number, ChainEntry>> {
  const entries = new Map<number, ChainEntry>();
  for (const run of chunks(ids)) {
    const reads = run.map((id): IRequestOp => {
      const stored = state.stored.get(id)!;
      if (stored.kind === "legacy") return { request_range: { key: Buffer.from(keys.legacyOf(id)), revision: state.revision } };
      return op.range(keys.partsOf(id, stored.head.tag), false, state.revision);
    });
    const found = await txn(client, reads);
    run.forEach((id, index) => {
      const kvs = rangeAt(found, index);
      const stored = state.stored.get(id)!;
      if (stored.kind === "head") entries.set(id, decodeEntry(id, stored.head, kvs.map((kv) => kv.value)));
      else entries.set(id, { base: null, upserts: kvs[0] ? (JSON.parse(kvs[0].value.toString()) as Ref[]) : [], removals: [] });
    });
  }
  return entries;
}

/** Generation `id`'s resources as references, in (typeUrl, name) order. */
async function refsOf(context: LogContext, state: LogState, id: number): Promise<Ref[]> {
  const chain = chainOf(id, baseIn(state));
  const entries = await readEntries(context, state, chain);
  return replay(chain.map((g) => entries.get(g)!));
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

const refOf = (r: HashedResource): Ref => [r.typeUrl, r.name, r.hash];

/**
 * The entry `input` stores for its generation and the bodies it needs, or
 * undefined when the put keeps what is stored, under the contract's order
 * rules. Changes for a new generation are stored as they are, against the
 * newest; changes that replace the newest generation's resources, and
 * whole lists, are stored whole.
 */
async function entryOf(context: LogContext, state: LogState, input: GenerationInput): Promise<{ entry: ChainEntry; bodies: readonly HashedResource[] } | undefined> {
  if (!input.resources && !input.changes) return undefined;
  let newest: number | undefined;
  for (const id of state.stored.keys()) if (newest === undefined || id > newest) newest = id;
  if (input.changes && input.changes.base !== newest) {
    throw new ValidationError([{ path: "resources.base", message: `must be ${newest ?? "(none: give the resources whole)"}, the newest generation stored with resources, got ${input.changes.base}` }]);
  }
  if (newest !== undefined && input.id < newest) {
    if (state.stored.has(input.id)) return undefined;
    throw new ValidationError([{ path: "id", message: `resources can be given for generation ${newest}, the newest stored with them, or a newer one; got ${input.id}` }]);
  }
  if (input.resources) return { entry: { base: null, upserts: input.resources.map(refOf), removals: [] }, bodies: input.resources };
  const changes = input.changes!;
  const own: ChainEntry = { base: changes.base, upserts: changes.upserts.map(refOf), removals: changes.removals.map((r): RefKey => [r.typeUrl, r.name]) };
  if (input.id > changes.base) return { entry: own, bodies: changes.upserts };
  const current: ChainEntry = { base: null, upserts: await refsOf(context, state, changes.base), removals: [] };
  return { entry: fold(null, [current, own]), bodies: changes.upserts };
}

/** Bodies and parts first, then record and head in one txn guarded by the marker; starts over when a retain got in between. */
async function putGeneration(context: LogContext, input: GenerationInput): Promise<void> {
  const { client, keys } = context;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const state = await readState(context);
    const planned = await entryOf(context, state, input);
    const ops: IRequestOp[] = [op.put(keys.record(input.id), input.json), op.put(keys.marker, `put ${input.id}`)];
    if (planned) {
      await writeBodies(context, planned.bodies);
      const { head, parts } = encodeEntry(planned.entry);
      const partOps = parts.map((part, index) => op.put(keys.part(input.id, head.tag, index), part));
      // A small entry goes in the txn that makes it stored; a large one first, in requests etcd accepts (unused parts are pruned by retain).
      if (parts.length === 1 && parts[0]!.byteLength <= 64 * 1024) ops.push(...partOps);
      else for (const run of chunks(partOps, (o) => o.request_put!.value!.length)) await txn(client, run);
      ops.push(op.put(keys.head(input.id), JSON.stringify(head)), op.delete(keys.legacyOf(input.id)));
      const replaced = state.stored.get(input.id);
      if (replaced?.kind === "head") ops.push(op.deletePrefix(keys.partsOf(input.id, replaced.head.tag)));
    }
    const written = await txn(client, ops, [{ key: keys.marker, modRevision: state.marker }]);
    if (written.succeeded) return;
    context.logger.debug({ id: input.id, attempt }, "generation put raced a retain or another put; trying again");
  }
  throw new UnavailableError(`generation ${input.id} could not be written: other replicas kept changing the generation log`);
}

async function readResources(context: LogContext, id: number): Promise<StoredResource[] | undefined> {
  const { client, keys } = context;
  const state = await readState(context);
  if (!state.stored.has(id)) return undefined;
  const refs = await refsOf(context, state, id);
  if (refs.length === 0) return undefined;
  const bodies = new Map<string, Buffer>();
  for (const run of chunks([...new Set(refs.map(([, , hash]) => hash))])) {
    const found = await txn(client, run.map((hash) => ({ request_range: { key: Buffer.from(keys.body(hash)), revision: state.revision } })));
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

/**
 * What retain writes so that every kept chain holds only kept generations:
 * each kept generation whose base is dropped gets one entry folding in the
 * dropped ones back to the next kept generation (or whole, back to a whole
 * one). Also the entries every kept generation has afterwards.
 */
async function foldsFor(context: LogContext, state: LogState, kept: readonly number[]): Promise<{ folded: Map<number, ChainEntry>; entries: Map<number, ChainEntry> }> {
  const keep = new Set(kept);
  const baseOf = baseIn(state);
  const dropped = new Map<number, number[]>();
  for (const id of kept) {
    const links: number[] = [];
    let at = baseOf(id);
    for (; at !== null && at !== undefined && !keep.has(at); at = baseOf(at)) links.unshift(at);
    // A chain that leads to a generation etcd does not hold stays as it is: folding it would pass part of a list off as whole.
    if (at === undefined) context.logger.warn({ generation: id }, "a kept generation's chain of changes leads to a generation etcd does not hold; leaving it as it is");
    else if (links.length > 0) dropped.set(id, links);
  }
  const entries = await readEntries(context, state, [...kept, ...[...dropped.values()].flat()]);
  const folded = new Map<number, ChainEntry>();
  for (const [id, links] of dropped) {
    const base = baseOf(links[0]!);
    folded.set(id, fold(base ?? null, [...links, id].map((g) => entries.get(g)!)));
  }
  return { folded, entries: new Map([...entries, ...folded].filter(([id]) => keep.has(id))) };
}

/**
 * The deletes that finish a retain: records, heads and old whole lists of
 * generations not kept, parts no kept head names (`tags`: each kept
 * generation's tag), and, last, bodies no kept entry uses. `read` holds the
 * keys of records, parts and bodies, at the revision of `state`.
 */
function dropsOf(keys: GenerationKeys, read: ITxnResponse, kept: { state: LogState; keep: ReadonlySet<number>; tags: ReadonlyMap<number, string>; entries: ReadonlyMap<number, ChainEntry> }): IRequestOp[] {
  const { state, keep, tags, entries } = kept;
  const drops: IRequestOp[] = [];
  for (const kv of rangeAt(read, 0)) if (!keep.has(idAfter(kv, keys.records))) drops.push(op.delete(kv.key.toString()));
  for (const [id, stored] of state.stored) if (!keep.has(id)) drops.push(op.delete(stored.kind === "head" ? keys.head(id) : keys.legacyOf(id)));
  for (const kv of rangeAt(read, 1)) {
    const id = idAfter(kv, keys.parts);
    const tag = kv.key.toString().slice(keys.parts.length + 17).split("/")[0];
    if (tags.get(id) !== tag) drops.push(op.delete(kv.key.toString()));
  }
  // Bodies go last, so a retain cut short never leaves a kept generation without its bodies.
  const used = new Set<string>();
  for (const entry of entries.values()) for (const [, , hash] of entry.upserts) used.add(hash);
  for (const kv of rangeAt(read, 2)) if (!used.has(kv.key.toString().slice(keys.bodies.length))) drops.push(op.delete(kv.key.toString()));
  return drops;
}

/** One pass of retain; false when a concurrent put or retain got in the way and it must start over. */
async function retainOnce(context: LogContext, keep: ReadonlySet<number>): Promise<boolean> {
  const { client, keys } = context;
  const state = await readState(context);
  const read = await txn(client, [op.range(keys.records, true, state.revision), op.range(keys.parts, true, state.revision), op.range(keys.bodies, true, state.revision)]);
  const kept = [...state.stored.keys()].filter((id) => keep.has(id)).sort((a, b) => a - b);
  const { folded, entries } = await foldsFor(context, state, kept);

  let marker = state.marker;
  const guardedTxn = async (ops: IRequestOp[], size?: (o: IRequestOp) => number): Promise<boolean> => {
    for (const run of chunks(ops, size)) {
      const written = await txn(client, [...run, op.put(keys.marker, "retain")], [{ key: keys.marker, modRevision: marker }]);
      if (!written.succeeded) return false;
      marker = revisionOf(written.header.revision);
    }
    return true;
  };
  // New entries first, then the heads that point at them: a retain cut short leaves every kept chain whole.
  const tags = new Map<number, string>();
  for (const id of kept) {
    const stored = state.stored.get(id)!;
    if (stored.kind === "head") tags.set(id, stored.head.tag);
  }
  const partOps: IRequestOp[] = [];
  const headOps: IRequestOp[] = [];
  for (const [id, entry] of folded) {
    const { head, parts } = encodeEntry(entry);
    parts.forEach((part, index) => partOps.push(op.put(keys.part(id, head.tag, index), part)));
    headOps.push(op.put(keys.head(id), JSON.stringify(head)), op.delete(keys.legacyOf(id)));
    tags.set(id, head.tag);
  }
  if (!(await guardedTxn(partOps, (o) => o.request_put!.value!.length)) || !(await guardedTxn(headOps))) return false;
  return guardedTxn(dropsOf(keys, read, { state, keep, tags, entries }));
}

/**
 * A GenerationLog in etcd, shared by every replica on the same prefix. `put`
 * writes the bodies and entry parts a generation needs first (harmless
 * alone: retain drops what no kept generation uses), then the record and its
 * head in one txn, guarded by the marker so a retain that ran in between
 * (and may have dropped those) makes it start over. `retain` reads at one
 * revision, writes folded entries, then deletes in txns of at most MAX_OPS,
 * each guarded by the marker, so a concurrent put makes it start over rather
 * than drop something that put just used. It reads every kept entry (one
 * whole list and the changes after it), which the guard asks for once per
 * about fifty generations.
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
