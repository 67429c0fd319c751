import { ValidationError } from "../../errors/index.js";
import type { GenerationLog } from "../generation-log.js";
import { compareResources, readGenerationInput, resourceKey, type GenerationInput, type HashedResource } from "./generation-log-input.js";

/**
 * One version of one resource, held by the generations `first` up to (not
 * including) `last`; an open span (no `last`) is held by the newest
 * generation with resources and would be by the next. A generation that
 * changes one resource of many ends one span and begins one: storage grows
 * with what changed, not with the snapshot's size. The sqlite backend keeps
 * the same spans in a table.
 */
interface Span {
  readonly typeUrl: string;
  readonly name: string;
  readonly hash: string;
  readonly first: number;
  last?: number;
}

/**
 * A GenerationLog in maps, for the memory store. Records are kept as JSON
 * text and bodies by content hash, so what is handed out is always a fresh
 * copy and equal bodies are held once. `ensureOpen` throws UnavailableError
 * once the owning store is closed.
 */
export function createMemoryGenerationLog(ensureOpen: () => void): GenerationLog {
  const records = new Map<number, string>();
  /** Generations stored with resources, ascending. */
  let generations: number[] = [];
  let spans: Span[] = [];
  /** The open span of each resource key. */
  const open = new Map<string, Span>();
  const bodies = new Map<string, Uint8Array>();

  const head = (): number | undefined => generations.at(-1);

  /** Takes the newest generation's resources back out: its spans go, the spans it ended are open again. */
  const undoHead = (id: number): void => {
    spans = spans.filter((span) => span.first !== id);
    open.clear();
    for (const span of spans) {
      if (span.last === id) delete span.last;
      if (span.last === undefined) open.set(resourceKey(span.typeUrl, span.name), span);
    }
    generations = generations.filter((g) => g !== id);
  };

  const end = (key: string, at: number): void => {
    const span = open.get(key);
    if (!span) return;
    span.last = at;
    open.delete(key);
  };

  const begin = (resource: HashedResource, at: number): void => {
    const key = resourceKey(resource.typeUrl, resource.name);
    if (open.get(key)?.hash === resource.hash) return;
    end(key, at);
    const span: Span = { typeUrl: resource.typeUrl, name: resource.name, hash: resource.hash, first: at };
    spans.push(span);
    open.set(key, span);
    if (!bodies.has(resource.hash)) bodies.set(resource.hash, resource.body);
  };

  /** The full set of `input` as (key → resource), for a whole list or for changes against the head. */
  const targetOf = (input: GenerationInput): HashedResource[] | undefined => {
    if (input.resources) return [...input.resources];
    const changes = input.changes;
    if (!changes) return undefined;
    const current = new Map<string, HashedResource>();
    for (const [key, span] of open) current.set(key, { typeUrl: span.typeUrl, name: span.name, hash: span.hash, body: bodies.get(span.hash)! });
    for (const removal of changes.removals) current.delete(resourceKey(removal.typeUrl, removal.name));
    for (const upsert of changes.upserts) current.set(resourceKey(upsert.typeUrl, upsert.name), upsert);
    return [...current.values()];
  };

  const writeResources = (input: GenerationInput): void => {
    if (!input.resources && !input.changes) return;
    const id = input.id;
    const newest = head();
    if (input.changes && input.changes.base !== newest) {
      throw new ValidationError([{ path: "resources.base", message: `must be ${newest ?? "(none: give the resources whole)"}, the newest generation stored with resources, got ${input.changes.base}` }]);
    }
    if (newest !== undefined && id < newest) {
      if (generations.includes(id)) return;
      throw new ValidationError([{ path: "id", message: `resources can be given for generation ${newest}, the newest stored with them, or a newer one; got ${id}` }]);
    }
    if (input.changes && id > (newest ?? 0)) {
      for (const removal of input.changes.removals) end(resourceKey(removal.typeUrl, removal.name), id);
      for (const upsert of input.changes.upserts) begin(upsert, id);
      generations.push(id);
      return;
    }
    const target = targetOf(input)!;
    if (id === newest) undoHead(id);
    const keys = new Set(target.map((r) => resourceKey(r.typeUrl, r.name)));
    for (const key of [...open.keys()]) if (!keys.has(key)) end(key, id);
    for (const resource of target) begin(resource, id);
    generations.push(id);
  };

  return {
    async put(generation, resources) {
      ensureOpen();
      const input = readGenerationInput(generation, resources);
      writeResources(input);
      records.set(input.id, input.json);
    },
    async list() {
      ensureOpen();
      return [...records].sort(([a], [b]) => a - b).map(([id, json]) => ({ id, record: JSON.parse(json) as Record<string, unknown> }));
    },
    async resources(id) {
      ensureOpen();
      if (!generations.includes(id)) return undefined;
      const held = spans.filter((span) => span.first <= id && (span.last === undefined || id < span.last));
      if (held.length === 0) return undefined;
      return held.map(({ typeUrl, name, hash }) => ({ typeUrl, name, body: new Uint8Array(bodies.get(hash)!) })).sort(compareResources);
    },
    async retain(keep) {
      ensureOpen();
      for (const id of records.keys()) if (!keep.has(id)) records.delete(id);
      const before = head();
      generations = generations.filter((id) => keep.has(id));
      // A span stays while a kept generation holds it: the first kept at or after `first` is before `last`.
      spans = spans.filter((span) => {
        const g = firstAtOrAfter(generations, span.first);
        return g !== undefined && (span.last === undefined || g < span.last);
      });
      const newest = head();
      if (newest !== before) {
        // Nothing is newer than the new newest: whatever it holds stays open for the next generation.
        for (const span of spans) if (newest !== undefined && span.last !== undefined && span.last > newest) delete span.last;
      }
      open.clear();
      for (const span of spans) if (span.last === undefined) open.set(resourceKey(span.typeUrl, span.name), span);
      const used = new Set(spans.map((span) => span.hash));
      for (const hash of bodies.keys()) if (!used.has(hash)) bodies.delete(hash);
    },
  };
}

/** The smallest of `sorted` (ascending) that is at least `at`: a binary search, so retain costs O(spans log generations). */
function firstAtOrAfter(sorted: readonly number[], at: number): number | undefined {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < at) low = mid + 1;
    else high = mid;
  }
  return sorted[low];
}
