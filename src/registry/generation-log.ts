/**
 * The push guard's audit trail and the snapshots it can roll back to. It is
 * not part of the registry's Store contract: the guard owns what goes in it,
 * and the storage backends (src/registry/stores) keep it beside the registry,
 * on the same connection, so it survives restarts and, on etcd, is kept per
 * replica.
 */

/** A generation as the push guard's audit trail keeps it: JSON the store does not look into, keyed by id. */
export interface StoredGeneration {
  /** A positive integer. */
  readonly id: number;
  readonly record: Readonly<Record<string, unknown>>;
}

/** One encoded xDS resource of a generation's snapshot. */
export interface StoredResource {
  readonly typeUrl: string;
  readonly name: string;
  readonly body: Uint8Array;
}

/** A resource by its key, for a removal. */
export interface ResourceKey {
  readonly typeUrl: string;
  readonly name: string;
}

/**
 * A generation's resources given as what changed since generation `base`,
 * the newest generation stored with resources: its resources, with
 * `upserts` put (added or replaced) and `removals` taken away. The guard
 * saves every generation this way, so a one-instance change writes one
 * resource, not the whole snapshot.
 */
export interface ResourceChanges {
  readonly base: number;
  readonly upserts: readonly StoredResource[];
  readonly removals: readonly ResourceKey[];
}

/**
 * Where the push guard keeps generations (records and the snapshots they
 * carry) beside the registry. Contract (test/unit/generation-log-contract.ts,
 * run against every backend):
 * - `put` is atomic: the record and its resources are written together or
 *   not at all; a record with an id already stored replaces that record and
 *   keeps its resources unless new ones are given;
 * - resources are given whole (a list) or as ResourceChanges against the
 *   newest generation stored with resources, for that generation (replacing
 *   its resources) or a newer one; resources given again for an older
 *   generation that has them are ignored (a generation's snapshot never
 *   changes), and for an older one without them are a ValidationError, as
 *   are changes whose `base` is not the newest;
 * - storage grows with what changed: a generation that changes one
 *   resource of many costs about one resource on disk (bodies once per
 *   content, and per generation only which versions began or ended);
 * - resources come back byte for byte, in (typeUrl, name) order; bodies are
 *   stored once per content, however many generations share them;
 * - `list` returns every record in ascending id order, with deep-equal JSON;
 * - `retain` deletes every record (and its resources) whose id is not kept,
 *   in bounded steps that let the event loop run between them;
 * - persistent backends return all of it after a reopen;
 * - `put` throws ValidationError (nothing written) for an id that is not a
 *   positive integer, a record that is not a JSON object, or a malformed or
 *   repeated (typeUrl, name) resource;
 * - UnavailableError once the store is closed or the backend fails.
 */
export interface GenerationLog {
  put(generation: StoredGeneration, resources?: readonly StoredResource[] | ResourceChanges): Promise<void>;
  list(): Promise<StoredGeneration[]>;
  /** The resources stored with generation `id`; undefined when it has none (or is gone). */
  resources(id: number): Promise<StoredResource[] | undefined>;
  retain(keep: ReadonlySet<number>): Promise<void>;
}
