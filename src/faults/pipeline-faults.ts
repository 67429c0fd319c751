import type { SortedMap } from "../collections/index.js";
import type { Logger } from "../log/index.js";
import { RESOURCE_TYPES, type Codec, type ResourceTypeUrl } from "../proto/index.js";
import { createSnapshot, type Resource, type Snapshot } from "../snapshot/index.js";
import { resourceFaults, type ResourceFaultKind, type SnapshotFault } from "./faulty-resources.js";

/** One pipeline fault: what happens to the named services' resources. */
export interface PipelineFault {
  readonly kind: ResourceFaultKind;
  readonly services: readonly string[];
}

/**
 * A faulty snapshot source: it sits between the snapshot builder and the push
 * guard, as a config pipeline with a bug would, and hands the guard the
 * builder's snapshots with the active faults applied. The guard then judges
 * those like any other generation; nothing in the builder or the guard knows
 * about faults.
 */
export interface PipelineFaults {
  /**
   * The builder's output. `next` gets it with the active faults applied (the
   * same object when no fault changes it), keeping its revision. The last
   * snapshot offered is remembered for re-sending.
   */
  offer(snapshot: Snapshot): void;
  /**
   * Activates `fault` and re-sends the last snapshot offered, transformed, to
   * `next` at once, so the guard sees the fault without waiting for a
   * registry change. A fault's changes apply together: `next` never sees a
   * half-applied one. Returns its id; throws (and applies nothing) when the
   * codec cannot encode its resources.
   */
  add(fault: PipelineFault): string;
  /** Removes a fault and re-sends; false for an unknown id. */
  remove(id: string): boolean;
  /** Removes every fault and re-sends. */
  clear(): void;
  /** Active faults, oldest first. */
  active(): ReadonlyArray<{ readonly id: string; readonly fault: PipelineFault }>;
}

export interface PipelineFaultsDeps {
  /** Encodes the resources that empty-endpoints and invalid-config put in place. */
  readonly codec: Codec;
  readonly logger: Logger;
  /** The push guard's input. */
  readonly next: (snapshot: Snapshot) => void;
}

/**
 * Creates the faulty snapshot source. A re-send after a fault change is
 * skipped when the transformed snapshot's version equals the last one sent
 * (the fault names nothing in the snapshot), so the guard sees no empty
 * generations.
 */
export function createPipelineFaults(deps: PipelineFaultsDeps): PipelineFaults {
  const logger = deps.logger.child({ component: "pipeline-faults" });
  const faults = new Map<string, { readonly fault: PipelineFault; readonly changes: readonly SnapshotFault[] }>();
  let seq = 0;
  let lastOffered: Snapshot | undefined;
  let lastSentVersion: string | undefined;

  function activeChanges(): SnapshotFault[] {
    return [...faults.values()].flatMap((entry) => entry.changes);
  }

  function send(snapshot: Snapshot): void {
    lastSentVersion = snapshot.version;
    deps.next(snapshot);
  }

  function resend(): void {
    if (!lastOffered) return;
    const snapshot = applySnapshotFaults(lastOffered, activeChanges());
    if (snapshot.version === lastSentVersion) return;
    logger.info({ revision: snapshot.revision, version: snapshot.version, faults: faults.size }, "re-sending the last snapshot with the active pipeline faults");
    send(snapshot);
  }

  return {
    offer(snapshot) {
      lastOffered = snapshot;
      send(applySnapshotFaults(snapshot, activeChanges()));
    },
    add(fault) {
      const changes = resourceFaults(fault.kind, fault.services, deps.codec);
      const id = `p${++seq}`;
      faults.set(id, { fault: { kind: fault.kind, services: [...fault.services] }, changes });
      resend();
      return id;
    },
    remove(id) {
      const removed = faults.delete(id);
      if (removed) resend();
      return removed;
    },
    clear() {
      if (faults.size === 0) return;
      faults.clear();
      resend();
    },
    active: () => [...faults].map(([id, entry]) => ({ id, fault: entry.fault })),
  };
}

/**
 * `snapshot` with `faults` applied in order: drops remove resources by name,
 * replacements swap a resource that exists (they never add one, so a
 * consistent snapshot stays consistent). Returns `snapshot` itself when
 * nothing changed; otherwise a new snapshot with the same revision.
 */
export function applySnapshotFaults(snapshot: Snapshot, faults: readonly SnapshotFault[]): Snapshot {
  let changed = false;
  const byType = {} as Record<ResourceTypeUrl, SortedMap<Resource>>;
  for (const type of RESOURCE_TYPES) {
    const original = snapshot.resources[type];
    let resources = original;
    for (const fault of faults) resources = applyOne(resources, type, fault);
    byType[type] = resources;
    changed ||= resources !== original;
  }
  return changed ? createSnapshot(snapshot.revision, byType, snapshot) : snapshot;
}

function applyOne(resources: SortedMap<Resource>, type: ResourceTypeUrl, fault: SnapshotFault): SortedMap<Resource> {
  if (fault.kind === "drop-resources") {
    if (fault.typeUrl !== type) return resources;
    return resources.with(fault.names.map((name) => [name, undefined]));
  }
  const { resource } = fault;
  if (resource.typeUrl !== type || !resources.has(resource.name)) return resources;
  return resources.set(resource.name, resource);
}
