import { createHash } from "node:crypto";
import { show, ValidationError, type Issue } from "../../errors/index.js";
import type { ResourceChanges, ResourceKey, StoredGeneration, StoredResource } from "../generation-log.js";

/** A resource as both backends keep it: the body named by its content, so equal bodies are stored once. */
export interface HashedResource {
  readonly typeUrl: string;
  readonly name: string;
  /** sha256 of `body`, lowercase hex. */
  readonly hash: string;
  readonly body: Uint8Array;
}

/** The arguments of one `GenerationLog.put`, checked and copied. */
export interface GenerationInput {
  readonly id: number;
  /** The record as JSON text; parsing it gives every reader its own deep-equal copy. */
  readonly json: string;
  /** In (typeUrl, name) order; undefined when the put keeps the resources already stored (or gives changes). */
  readonly resources?: readonly HashedResource[];
  /** Given instead of `resources`: what changed since generation `base`. */
  readonly changes?: HashedChanges;
}

export interface HashedChanges {
  readonly base: number;
  /** In (typeUrl, name) order. */
  readonly upserts: readonly HashedResource[];
  readonly removals: readonly ResourceKey[];
}

/** `typeUrl\0name`: a key for maps of resources. */
export function resourceKey(typeUrl: string, name: string): string {
  return `${typeUrl}\u0000${name}`;
}

/**
 * The order resources are handed out in: typeUrl, then name, by JavaScript
 * string comparison (UTF-16 code units), whichever backend stored them.
 */
export function compareResources(a: { readonly typeUrl: string; readonly name: string }, b: { readonly typeUrl: string; readonly name: string }): number {
  if (a.typeUrl !== b.typeUrl) return a.typeUrl < b.typeUrl ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function recordJson(record: unknown, issues: Issue[]): string {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    issues.push({ path: "record", message: `must be a JSON object, got ${show(record)}` });
    return "";
  }
  try {
    return JSON.stringify(record);
  } catch (err) {
    // A cycle's message spans several lines; its first line says what is wrong.
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    issues.push({ path: "record", message: `must be a JSON object without cycles or BigInts: ${reason}` });
    return "";
  }
}

/**
 * A resource copied on put, its hash worked out when first read: a backend
 * that writes a large put in chunks (sqlite) hashes a chunk at a time.
 */
class CopiedResource implements HashedResource {
  #hash: string | undefined;
  constructor(
    readonly typeUrl: string,
    readonly name: string,
    readonly body: Uint8Array,
  ) {}
  get hash(): string {
    return (this.#hash ??= createHash("sha256").update(this.body).digest("hex"));
  }
}

function hashedResources(resources: unknown, issues: Issue[], where = "resources"): HashedResource[] {
  if (!Array.isArray(resources)) {
    issues.push({ path: where, message: `must be an array of { typeUrl, name, body }, got ${show(resources)}` });
    return [];
  }
  const out: HashedResource[] = [];
  const seen = new Set<string>();
  resources.forEach((resource: Partial<StoredResource> | null | undefined, index) => {
    const path = `${where}[${index}]`;
    const { typeUrl, name, body } = resource ?? {};
    const before = issues.length;
    if (typeof typeUrl !== "string" || typeUrl === "") issues.push({ path: `${path}.typeUrl`, message: `must be a non-empty string, got ${show(typeUrl)}` });
    if (typeof name !== "string" || name === "") issues.push({ path: `${path}.name`, message: `must be a non-empty string, got ${show(name)}` });
    if (!(body instanceof Uint8Array)) issues.push({ path: `${path}.body`, message: `must be a Uint8Array, got ${show(body)}` });
    if (issues.length > before) return;
    const key = resourceKey(typeUrl!, name!);
    if (seen.has(key)) {
      issues.push({ path, message: `${show(typeUrl)} ${show(name)} is listed twice; list each (typeUrl, name) once` });
      return;
    }
    seen.add(key);
    out.push(new CopiedResource(typeUrl!, name!, new Uint8Array(body!)));
  });
  return out.sort(compareResources);
}

/**
 * Checks and copies a put's arguments before a backend writes anything, so a
 * put that fails here stores nothing and the caller may change its objects
 * afterwards. Throws ValidationError listing every problem: an id that is not
 * a positive integer, a record that is not a JSON object, a resource without
 * a typeUrl or name or with a body that is not a Uint8Array, or the same
 * (typeUrl, name) twice.
 */
export function readGenerationInput(generation: StoredGeneration, resources?: readonly StoredResource[] | ResourceChanges): GenerationInput {
  const issues: Issue[] = [];
  const id: unknown = generation?.id;
  if (!Number.isSafeInteger(id) || (id as number) < 1) issues.push({ path: "id", message: `must be a positive integer, got ${show(id)}` });
  const json = recordJson(generation?.record, issues);
  const isChanges = resources !== undefined && !Array.isArray(resources) && typeof resources === "object" && resources !== null;
  const hashed = resources === undefined || isChanges ? undefined : hashedResources(resources, issues);
  const changes = isChanges ? readChanges(resources as ResourceChanges, issues) : undefined;
  if (issues.length > 0) throw new ValidationError(issues);
  return { id: id as number, json, ...(hashed && { resources: hashed }), ...(changes && { changes }) };
}

/** Checks and copies ResourceChanges: a positive `base`, upserts as resources are checked, removals as keys, no key twice. */
function readChanges(changes: ResourceChanges, issues: Issue[]): HashedChanges {
  const base: unknown = changes.base;
  if (!Number.isSafeInteger(base) || (base as number) < 1) issues.push({ path: "resources.base", message: `must be a positive integer (a generation id), got ${show(base)}` });
  const upserts = hashedResources(changes.upserts, issues, "resources.upserts");
  const removals: ResourceKey[] = [];
  const seen = new Set(upserts.map((r) => resourceKey(r.typeUrl, r.name)));
  if (!Array.isArray(changes.removals)) {
    issues.push({ path: "resources.removals", message: `must be an array of { typeUrl, name }, got ${show(changes.removals)}` });
  } else {
    changes.removals.forEach((removal: Partial<ResourceKey> | null | undefined, index) => {
      const path = `resources.removals[${index}]`;
      const { typeUrl, name } = removal ?? {};
      if (typeof typeUrl !== "string" || typeUrl === "" || typeof name !== "string" || name === "") {
        issues.push({ path, message: `must be { typeUrl, name } with non-empty strings, got ${show(removal)}` });
        return;
      }
      const key = resourceKey(typeUrl, name);
      if (seen.has(key)) {
        issues.push({ path, message: `${show(typeUrl)} ${show(name)} is listed twice; list each (typeUrl, name) once, as an upsert or a removal` });
        return;
      }
      seen.add(key);
      removals.push({ typeUrl, name });
    });
  }
  return { base: base as number, upserts, removals };
}
