import { createHash } from "node:crypto";
import { RESOURCE_TYPES, shortTypeName, type ResourceTypeUrl } from "../proto/index.js";
import type { Resource, Snapshot } from "./snapshot.js";

/** Hex digits kept from a sha256: 64 bits, ample to tell versions apart. */
const VERSION_LENGTH = 16;

/**
 * A resource whose version is the hash of its encoded bytes, so equal content
 * always has an equal version, across builds and processes.
 */
export function createResource(typeUrl: ResourceTypeUrl, name: string, body: Uint8Array): Resource {
  return Object.freeze({ name, typeUrl, version: hashHex(body), body });
}

/**
 * A snapshot over the given resources, keyed by resource name (missing types
 * are empty). Computes `typeVersions[type]` over the sorted (name, version)
 * pairs of that type and `version` over the four type versions, so both are
 * pure functions of content. Does not check consistency (see checkConsistency).
 */
export function createSnapshot(
  revision: number,
  resources: Partial<Record<ResourceTypeUrl, ReadonlyMap<string, Resource>>>,
): Snapshot {
  const byType = {} as Record<ResourceTypeUrl, ReadonlyMap<string, Resource>>;
  const typeVersions = {} as Record<ResourceTypeUrl, string>;
  for (const type of RESOURCE_TYPES) {
    const map = resources[type] ?? new Map<string, Resource>();
    byType[type] = map;
    typeVersions[type] = typeVersion(map);
  }
  const version = hashHex(JSON.stringify(RESOURCE_TYPES.map((type) => [shortTypeName(type), typeVersions[type]])));
  return Object.freeze({ revision, version, resources: Object.freeze(byType), typeVersions: Object.freeze(typeVersions) });
}

function typeVersion(resources: ReadonlyMap<string, Resource>): string {
  const pairs = [...resources].map(([name, resource]) => [name, resource.version] as const);
  pairs.sort(([a], [b]) => compareStrings(a, b));
  return hashHex(JSON.stringify(pairs));
}

function hashHex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex").slice(0, VERSION_LENGTH);
}

/** Code-unit order: unlike localeCompare, the same on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
