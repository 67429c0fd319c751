import type { Generation, GenerationDiff, GenerationEvent, GenerationStatus } from "./model.js";

/** The fields of a new generation that its creator chooses. */
export interface DraftFields {
  readonly revision: number;
  readonly version: string;
  readonly diff: GenerationDiff;
  readonly source: Generation["source"];
  readonly from?: number;
}

/**
 * The guard's in-memory list of generations, ascending id, mirroring the
 * stored audit trail. Generations are immutable values: an update is a new
 * object put in place of the old one.
 */
export class GenerationBook {
  private readonly byId = new Map<number, Generation>();
  private nextId: number;

  constructor(loaded: readonly Generation[], private readonly now: () => string) {
    for (const gen of loaded) this.byId.set(gen.id, gen);
    this.nextId = Math.max(0, ...loaded.map((g) => g.id)) + 1;
  }

  all(): Generation[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: number): Generation | undefined {
    return this.byId.get(id);
  }

  put(gen: Generation): void {
    this.byId.set(gen.id, gen);
  }

  /** Forgets every generation not in `keep`. */
  retain(keep: ReadonlySet<number>): void {
    for (const id of [...this.byId.keys()]) if (!keep.has(id)) this.byId.delete(id);
  }

  /** A new generation with the next id (never reused), not yet stored; its status is set by withStatus. */
  draft(fields: DraftFields): Generation {
    const createdAt = this.now();
    return {
      id: this.nextId++,
      revision: fields.revision,
      createdAt,
      version: fields.version,
      status: "held",
      diff: fields.diff,
      reason: "",
      problems: [],
      source: fields.source,
      ...(fields.from !== undefined && { from: fields.from }),
      history: [],
    };
  }

  event(status: GenerationStatus, detail: string): GenerationEvent {
    return { at: this.now(), status, detail };
  }

  /** `gen` with a new status, its reason set to `detail` for anything but a plain push, and the change in its history. */
  withStatus(gen: Generation, status: GenerationStatus, detail: string): Generation {
    const reason = status === "pushed" ? "" : detail;
    return { ...gen, status, reason, history: [...gen.history, this.event(status, detail)] };
  }

  /** Held generations not yet made moot, ascending id. */
  openHolds(): Generation[] {
    return this.all().filter((g) => g.status === "held" && g.supersededBy === undefined);
  }

  /** The newest generation with `status`. */
  latestWith(status: GenerationStatus): Generation | undefined {
    return this.all().filter((g) => g.status === status).at(-1);
  }

  /**
   * True when the newest registry-built generation already stands for a
   * snapshot with `version` and is still in force (rejected, in canary, or
   * held and not superseded): offering it again changes nothing.
   */
  alreadyDecided(version: string): boolean {
    const latest = this.all().filter((g) => g.source === "registry").at(-1);
    if (!latest || latest.version !== version) return false;
    return latest.status === "rejected" || latest.status === "canary" || (latest.status === "held" && latest.supersededBy === undefined);
  }

  /** After a rollback the guard is pinned: new generations wait for approval until one is approved. */
  pinnedBy(current: Generation): boolean {
    return current.source === "rollback";
  }
}
