import { randomBytes } from "node:crypto";
import { UnavailableError } from "../../errors/index.js";
import { compareResources, resourceKey } from "./generation-log-input.js";

/**
 * How the etcd GenerationLog keeps a generation's resources: as an entry of
 * changes against an older generation (its base), or whole (no base). A
 * generation's resources are its chain replayed: the whole entry it leads
 * back to, then every entry after it, oldest first. Only etcd stores this
 * way; sqlite and memory keep spans (see generation-log-sqlite.ts).
 */

/** [typeUrl, name, sha256 hex]: a resource and the body it has. */
export type Ref = [string, string, string];
/** [typeUrl, name]: a resource removed. */
export type RefKey = [string, string];

/** One generation's resources as stored: `upserts` and `removals` on top of generation `base`, or whole when `base` is null. */
export interface ChainEntry {
  readonly base: number | null;
  /** In (typeUrl, name) order. */
  readonly upserts: readonly Ref[];
  readonly removals: readonly RefKey[];
}

/**
 * The value of a generation's head key: written last, with its record, it
 * is what makes the entry stored. The entry's JSON is split into `parts`
 * keys under `tag` (fresh per write), so an entry of any size fits etcd's
 * request limit and a rewrite never touches the parts a reader may be using.
 */
export interface ChainHead {
  readonly base: number | null;
  readonly tag: string;
  readonly parts: number;
}

/** Bytes of entry JSON per part key: two parts fit one etcd request (1.5 MiB by default). */
const PART_BYTES = 512 * 1024;

export function sortRefs<T extends Ref | RefKey>(refs: T[]): T[] {
  return refs.sort((a, b) => compareResources({ typeUrl: a[0], name: a[1] }, { typeUrl: b[0], name: b[1] }));
}

/** The head and part values that store `entry`, under a fresh tag. */
export function encodeEntry(entry: ChainEntry): { head: ChainHead; parts: Buffer[] } {
  const text = Buffer.from(JSON.stringify({ upserts: entry.upserts, removals: entry.removals }));
  const parts: Buffer[] = [];
  for (let at = 0; at < text.length; at += PART_BYTES) parts.push(text.subarray(at, at + PART_BYTES));
  return { head: { base: entry.base, tag: randomBytes(6).toString("hex"), parts: parts.length }, parts };
}

/** The entry `head` and its part values (in order) stored for generation `id`. */
export function decodeEntry(id: number, head: ChainHead, parts: readonly Buffer[]): ChainEntry {
  if (parts.length !== head.parts) throw new UnavailableError(`generation ${id} has ${parts.length} of its ${head.parts} stored parts in etcd`);
  const { upserts, removals } = JSON.parse(Buffer.concat(parts).toString()) as { upserts: Ref[]; removals: RefKey[] };
  return { base: head.base, upserts, removals };
}

/**
 * The generations whose entries make generation `id`'s resources, oldest
 * (a whole one) first. `baseOf` answers a stored generation's base (null:
 * whole) and undefined for one etcd does not hold, which is an
 * UnavailableError: the log lost part of a kept chain.
 */
export function chainOf(id: number, baseOf: (id: number) => number | null | undefined): number[] {
  const chain: number[] = [];
  for (let at: number | null = id; at !== null; ) {
    const base: number | null | undefined = baseOf(at);
    if (base === undefined) throw new UnavailableError(`generation ${id} is stored as changes against generation ${at}, which etcd does not hold`);
    if (base !== null && base >= at) throw new UnavailableError(`generation ${at} is stored as changes against generation ${base}, which is not older`);
    chain.push(at);
    at = base;
  }
  return chain.reverse();
}

/** The resources a chain of entries (oldest, a whole one, first) adds up to, in (typeUrl, name) order. */
export function replay(entries: readonly ChainEntry[]): Ref[] {
  const current = new Map<string, Ref>();
  for (const entry of entries) {
    for (const [typeUrl, name] of entry.removals) current.delete(resourceKey(typeUrl, name));
    for (const ref of entry.upserts) current.set(resourceKey(ref[0], ref[1]), ref);
  }
  return sortRefs([...current.values()]);
}

/**
 * One entry with the changes of `entries` (consecutive, oldest first) on top
 * of generation `base`; whole when `base` is null, the first entry then
 * being whole. Retain folds the entries of generations it drops into the
 * next kept one this way, so every kept chain holds only kept generations.
 */
export function fold(base: number | null, entries: readonly ChainEntry[]): ChainEntry {
  const changes = new Map<string, Ref | RefKey>();
  for (const entry of entries) {
    for (const removal of entry.removals) changes.set(resourceKey(removal[0], removal[1]), removal);
    for (const ref of entry.upserts) changes.set(resourceKey(ref[0], ref[1]), ref);
  }
  const upserts: Ref[] = [];
  const removals: RefKey[] = [];
  for (const change of changes.values()) {
    if (change.length === 3) upserts.push(change);
    // On a whole entry a removal is just absence.
    else if (base !== null) removals.push(change);
  }
  return { base, upserts: sortRefs(upserts), removals: sortRefs(removals) };
}
