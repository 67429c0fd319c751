import { ValidationError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import { RESOURCE_TYPES, isResourceTypeUrl, type ResourceTypeUrl } from "../proto/index.js";
import type { GenerationLog, ResourceChanges, ResourceKey, StoredResource } from "../registry/index.js";
import { createResource, createSnapshot, type Resource, type Snapshot } from "../snapshot/index.js";
import { GENERATION_STATUSES, type Generation } from "./model.js";

/** Snapshots kept decoded in memory; older ones are read back from the log when needed. */
const MEMORY_SNAPSHOTS = 8;

/**
 * The guard's view of its GenerationLog: Generation records as JSON,
 * snapshots as their encoded resources. A snapshot read back is rebuilt with
 * createSnapshot and must have the version its generation recorded, or it is
 * treated as missing.
 */
export interface GenerationStore {
  /** Every readable record, ascending id; records that do not look like generations are logged and skipped. */
  load(): Promise<Generation[]>;
  /** Writes the record, with its snapshot's resources when given. */
  save(generation: Generation, snapshot?: Snapshot): Promise<void>;
  /**
   * For a push, before any client sees it: writes the record alone, so the
   * decision is durable first, and keeps the snapshot in memory (`snapshot()`
   * answers it). Its resources follow with saveResources once clients have
   * it; a crash in between leaves a pushed record without resources, and a
   * restart serves the newest pushed generation that has them.
   */
  saveRecord(generation: Generation, snapshot: Snapshot): Promise<void>;
  /**
   * Writes the resources of a generation whose record is written. Never
   * rejects: clients have the generation already, so a failure is logged
   * (only its restart copy is missing).
   */
  saveResources(generation: Generation, snapshot: Snapshot): Promise<void>;
  snapshot(generation: Generation): Promise<Snapshot | undefined>;
  retain(ids: ReadonlySet<number>): Promise<void>;
}

export function createGenerationStore(log: GenerationLog, logger: Logger): GenerationStore {
  const recent = new Map<number, Snapshot>();
  const remember = (id: number, snapshot: Snapshot): void => {
    recent.delete(id);
    recent.set(id, snapshot);
    while (recent.size > MEMORY_SNAPSHOTS) recent.delete(recent.keys().next().value as number);
  };
  /**
   * The newest generation this process stored resources for or read back
   * from the log, and its snapshot: the next one is stored as changes
   * against it. Undefined on a fresh log: the next one is stored whole.
   */
  let newest: { readonly id: number; readonly snapshot: Snapshot } | undefined;
  /** Generations whose resources are in the log (stored or read back by this process): a snapshot never changes, so they are not written again. */
  const stored = new Set<number>();

  /** Writes the record with the snapshot's resources: as changes against `newest` when it can (the cost of what changed), else whole. */
  async function putWithResources(generation: Generation, snapshot: Snapshot): Promise<void> {
    const record = { id: generation.id, record: recordOf(generation) };
    if (stored.has(generation.id)) return log.put(record);
    const base = newest && generation.id > newest.id ? newest : undefined;
    try {
      await log.put(record, base ? changesBetween(base.id, base.snapshot, snapshot) : toStored(snapshot));
    } catch (err) {
      // The log's newest is not ours (another writer, or a prune we did not see): the whole list, once.
      if (!base || !(err instanceof ValidationError)) throw err;
      logger.warn({ generation: generation.id, base: base.id, err: err.message }, "generation log refused changes against our last generation; storing the whole snapshot");
      await log.put(record, toStored(snapshot));
    }
    stored.add(generation.id);
    if (!newest || generation.id >= newest.id) newest = { id: generation.id, snapshot };
  }

  return {
    async load() {
      const stored = await log.list();
      const generations: Generation[] = [];
      for (const { id, record } of stored) {
        if (looksLikeGeneration(id, record)) generations.push(record as unknown as Generation);
        else logger.warn({ id }, "skipping a stored generation record this steadymesh cannot read");
      }
      return generations;
    },
    async save(generation, snapshot) {
      if (snapshot) await putWithResources(generation, snapshot);
      else await log.put({ id: generation.id, record: recordOf(generation) });
      if (snapshot) remember(generation.id, snapshot);
    },
    async saveRecord(generation, snapshot) {
      await log.put({ id: generation.id, record: recordOf(generation) });
      remember(generation.id, snapshot);
    },
    async saveResources(generation, snapshot) {
      try {
        await putWithResources(generation, snapshot);
      } catch (err) {
        // Clients have it already: the push stands, only its restart copy is missing.
        logger.error({ err, generation: generation.id }, "could not store a pushed generation's resources; clients have it, but a restart would serve the newest pushed generation whose resources are stored");
      }
    },
    async snapshot(generation) {
      const cached = recent.get(generation.id);
      if (cached) return cached;
      const resources = await log.resources(generation.id);
      if (!resources) return undefined;
      const snapshot = fromStored(generation.revision, resources);
      if (snapshot.version !== generation.version) {
        logger.error({ generation: generation.id, stored: snapshot.version, recorded: generation.version }, "stored snapshot does not match its generation's version; ignoring it");
        return undefined;
      }
      remember(generation.id, snapshot);
      // Read back after a restart (the served generation): the next generation is stored as changes against it, not whole.
      // When it is not the log's newest with resources, the log refuses those changes and putWithResources stores the next one whole.
      stored.add(generation.id);
      if (!newest || generation.id > newest.id) newest = { id: generation.id, snapshot };
      return snapshot;
    },
    async retain(ids) {
      await log.retain(ids);
      for (const id of [...recent.keys()]) if (!ids.has(id)) recent.delete(id);
      for (const id of [...stored]) if (!ids.has(id)) stored.delete(id);
      // The log's newest generation with resources is now an older one: the next is stored whole.
      if (newest && !ids.has(newest.id)) newest = undefined;
    },
  };
}

/** A Generation is plain JSON data; the log checks and copies it on put (GenerationLog contract). */
function recordOf(generation: Generation): Record<string, unknown> {
  return generation as unknown as Record<string, unknown>;
}

function looksLikeGeneration(id: number, record: Readonly<Record<string, unknown>>): boolean {
  return (
    record["id"] === id &&
    typeof record["revision"] === "number" &&
    typeof record["version"] === "string" &&
    (GENERATION_STATUSES as readonly unknown[]).includes(record["status"]) &&
    typeof record["diff"] === "object" &&
    Array.isArray(record["history"])
  );
}

/**
 * What `after` changes against `before` (the resources of generation `base`),
 * as the log takes it: the snapshots' maps share all but what changed, so
 * this costs what changed (SortedMap.diffFrom), not the snapshot's size.
 */
function changesBetween(base: number, before: Snapshot, after: Snapshot): ResourceChanges {
  const upserts: StoredResource[] = [];
  const removals: ResourceKey[] = [];
  for (const type of RESOURCE_TYPES) {
    const put = (name: string, resource: Resource): void => void upserts.push({ typeUrl: type, name, body: resource.body });
    after.resources[type].diffFrom(before.resources[type], {
      added: put,
      changed: (name, was, is) => {
        if (was.version !== is.version) put(name, is);
      },
      removed: (name) => void removals.push({ typeUrl: type, name }),
    });
  }
  return { base, upserts, removals };
}

function toStored(snapshot: Snapshot): StoredResource[] {
  const out: StoredResource[] = [];
  for (const type of RESOURCE_TYPES) for (const r of snapshot.resources[type].values()) out.push({ typeUrl: type, name: r.name, body: r.body });
  return out;
}

function fromStored(revision: number, stored: readonly StoredResource[]): Snapshot {
  const byType = new Map<ResourceTypeUrl, Map<string, Resource>>(RESOURCE_TYPES.map((t) => [t, new Map()]));
  for (const r of stored) {
    if (!isResourceTypeUrl(r.typeUrl)) continue;
    byType.get(r.typeUrl)!.set(r.name, createResource(r.typeUrl, r.name, r.body));
  }
  // Each type's map iterates in name order, as the builder's do.
  const sorted = Object.fromEntries([...byType].map(([t, m]) => [t, new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))]));
  return createSnapshot(revision, sorted);
}
