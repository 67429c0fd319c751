import { createHash } from "node:crypto";
import { SortedMap } from "../collections/index.js";
import { RESOURCE_TYPES, shortTypeName, type ResourceTypeUrl } from "../proto/index.js";
import type { Resource, Snapshot } from "./snapshot.js";

/** Hex digits kept from a sha256: 64 bits, ample to tell versions apart. */
const VERSION_LENGTH = 16;
const MASK_64 = (1n << 64n) - 1n;

/**
 * A resource whose version is the hash of its encoded bytes, so equal content
 * always has an equal version, across builds and processes.
 */
export function createResource(typeUrl: ResourceTypeUrl, name: string, body: Uint8Array): Resource {
  return Object.freeze({ name, typeUrl, version: hashHex(body), body });
}

/**
 * A snapshot over the given resources, keyed by resource name (missing types
 * are empty); each type's map becomes a SortedMap (kept as is when it is one).
 * `typeVersions[type]` is a hash of that type's (name, version) set: the sum,
 * modulo 2^64, of a 64-bit hash of each pair, with the count. `version` is a
 * hash of the four. Both are pure functions of content, whichever way they
 * are computed: given `base`, a snapshot whose maps these were derived from
 * (SortedMap.with), each sum is updated from base's by what differs, so the
 * cost follows the change, not the snapshot's size. Does not check
 * consistency (see checkConsistency).
 */
export function createSnapshot(
  revision: number,
  resources: Partial<Record<ResourceTypeUrl, ReadonlyMap<string, Resource>>>,
  base?: Snapshot,
): Snapshot {
  const byType = {} as Record<ResourceTypeUrl, SortedMap<Resource>>;
  const typeVersions = {} as Record<ResourceTypeUrl, string>;
  for (const type of RESOURCE_TYPES) {
    const map = SortedMap.from(resources[type] ?? EMPTY);
    byType[type] = map;
    typeVersions[type] = typeVersion(map, base?.resources[type]);
  }
  const version = hashHex(JSON.stringify(RESOURCE_TYPES.map((type) => [shortTypeName(type), typeVersions[type]])));
  return Object.freeze({ revision, version, resources: Object.freeze(byType), typeVersions: Object.freeze(typeVersions) });
}

const EMPTY: ReadonlyMap<string, Resource> = SortedMap.empty();

/** The pair-hash sum of each map typeVersion has seen: maps are immutable, so it holds as long as the map lives. */
const sums = new WeakMap<ReadonlyMap<string, Resource>, bigint>();

function typeVersion(map: SortedMap<Resource>, base: ReadonlyMap<string, Resource> | undefined): string {
  let sum = sums.get(map);
  if (sum === undefined) {
    const baseSum = base instanceof SortedMap ? sums.get(base) : undefined;
    sum = baseSum === undefined ? sumOf(map) : sumFrom(baseSum, base as SortedMap<Resource>, map);
    sums.set(map, sum);
  }
  return hashHex(`${map.size}:${sum.toString(16)}`);
}

function sumOf(map: ReadonlyMap<string, Resource>): bigint {
  let sum = 0n;
  for (const [name, resource] of map) sum += pairHash(name, resource.version);
  return sum & MASK_64;
}

function sumFrom(baseSum: bigint, base: SortedMap<Resource>, map: SortedMap<Resource>): bigint {
  let sum = baseSum;
  map.diffFrom(base, {
    added: (name, resource) => (sum += pairHash(name, resource.version)),
    removed: (name, resource) => (sum -= pairHash(name, resource.version)),
    changed: (name, before, after) => {
      if (before.version !== after.version) sum += pairHash(name, after.version) - pairHash(name, before.version);
    },
  });
  return sum & MASK_64;
}

function pairHash(name: string, version: string): bigint {
  return createHash("sha256").update(name).update("\u0000").update(version).digest().readBigUInt64BE(0);
}

function hashHex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex").slice(0, VERSION_LENGTH);
}

/** Code-unit order: unlike localeCompare, the same on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
