import type { Issue } from "../errors/index.js";
export type { NodeInfo } from "../xds/index.js";

/**
 * The push guard's vocabulary. A generation is one candidate snapshot the
 * builder produced (or the guard derived: a drain step, a rollback), with
 * what it changes against the last pushed generation and what became of it.
 */

export const GENERATION_STATUSES = ["pushed", "held", "rejected", "canary", "rolled-back"] as const;
/**
 * - `pushed`: every client group has it (or had it, before a later one);
 * - `held`: the blast-radius guard or a canary NACK stopped it; clients keep the last pushed one;
 * - `rejected`: a stock client would NACK it; it is never sent;
 * - `canary`: only the canary group has it, baking;
 * - `rolled-back`: it was pushed (or in canary) and is no longer served: a
 *   rollback replaced it, or a newer generation superseded it before promotion.
 */
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];

export const SHORT_TYPES = ["LDS", "RDS", "CDS", "EDS"] as const;
export type ShortType = (typeof SHORT_TYPES)[number];

/** Resource names per change kind, each list sorted. */
export interface TypeDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/** One service's endpoints (`host:port`) before and after; only services whose endpoint set differs are listed. */
export interface EndpointDiff {
  readonly before: number;
  readonly after: number;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

export interface GenerationDiff {
  /** The generation compared against (the last pushed); absent for the first generation. */
  readonly against?: number;
  readonly types: Readonly<Record<ShortType, TypeDiff>>;
  /** Keyed by service (= ClusterLoadAssignment name; a subset's is `{service}/{subset}`). */
  readonly endpoints: Readonly<Record<string, EndpointDiff>>;
  /**
   * The services whose traffic policy changed (issue 18), sorted: their
   * RouteConfiguration changed, or one of their subset Clusters
   * (`{service}/{subset}`) came, went or changed.
   * Absent when there is none, so diffs without policies read as before.
   */
  readonly policies?: readonly string[];
}

/** One step in a generation's life, for the audit trail. */
export interface GenerationEvent {
  /** ISO 8601. */
  readonly at: string;
  readonly status: GenerationStatus;
  /** Why, in one line: `held: removes 9 of 10 endpoints of greeter (90% > 50%)`, `approved`, … */
  readonly detail: string;
}

/** A NACK that stopped a canary. */
export interface CanaryNack {
  readonly at: string;
  readonly nodeId: string;
  readonly streamId: string;
  /** Short type name (LDS, RDS, CDS, EDS). */
  readonly type: string;
  readonly errorDetail: { readonly code: number; readonly message: string };
}

export interface Generation {
  /** 1, 2, 3, … in creation order; never reused. */
  readonly id: number;
  /** Registry revision the snapshot was built from. */
  readonly revision: number;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The snapshot's content version. */
  readonly version: string;
  readonly status: GenerationStatus;
  readonly diff: GenerationDiff;
  /** One line on the current status; "" for a plain push. */
  readonly reason: string;
  /** Validation failures (status `rejected`) and guard violations (status `held`), by resource path such as `CDS/greeter: lb_policy`. */
  readonly problems: readonly Issue[];
  /**
   * Where it came from: `registry` (built from a registry revision), `drain`
   * (a step the guard derived to release a held drain gradually), or
   * `rollback` (an earlier generation pushed again).
   */
  readonly source: "registry" | "drain" | "rollback";
  /** For `drain` and `rollback`: the generation it was derived from. */
  readonly from?: number;
  /** A newer generation made this one moot before it was pushed. */
  readonly supersededBy?: number;
  readonly nack?: CanaryNack;
  readonly history: readonly GenerationEvent[];
}

/** Which clients form a group: a node id glob (`*` and `?`) or a node metadata key with a value. */
export type NodeSelector =
  | { readonly kind: "node-id"; readonly glob: string }
  | { readonly kind: "metadata"; readonly key: string; readonly value: string };

export interface GuardPolicy {
  /** false (`serve --no-guard`): never hold; validation still rejects what clients would NACK. */
  readonly enabled: boolean;
  /** Hold when a generation removes more than this share (0–1) of the Listeners, or of the Clusters. */
  readonly maxResourceRemoval: number;
  /** Hold when a generation's net loss of one service's endpoints is more than this share (0–1) of what it had. */
  readonly maxEndpointRemoval: number;
  /** A held endpoint drain is released in steps of this share (0–1) of each service's endpoints, at least one endpoint… */
  readonly drainStep: number;
  /** …every this many ms. */
  readonly drainIntervalMs: number;
}

export interface RolloutPolicy {
  /** Clients matching any selector form the canary group. None: no staged rollout, generations go to everyone. */
  readonly canary: readonly NodeSelector[];
  /** How long a canary must run with no NACK (and every canary client ACKed) before promotion. */
  readonly bakeMs: number;
}

/**
 * How long the generation log keeps generations: the newest `keep`, and of
 * those, with `maxAgeMs`, only the ones younger than that. The generation
 * clients have, held ones and one in canary are always kept.
 */
export interface RetentionPolicy {
  readonly keep: number;
  /** 0: no age limit. */
  readonly maxAgeMs: number;
}

export const RETENTION_DEFAULTS: RetentionPolicy = { keep: 200, maxAgeMs: 0 };

export const GUARD_DEFAULTS: GuardPolicy = {
  enabled: true,
  maxResourceRemoval: 0.5,
  maxEndpointRemoval: 0.5,
  drainStep: 0.1,
  drainIntervalMs: 30_000,
};

export const ROLLOUT_DEFAULTS: RolloutPolicy = { canary: [], bakeMs: 30_000 };

/**
 * The push guard as the admin API and CLI see it. Errors: NotFoundError for an
 * unknown id; ConflictError when the generation's status does not allow the
 * action (the message says which statuses do); UnavailableError when the
 * audit trail cannot be written (then nothing changed).
 */
export interface GenerationControl {
  /** Every generation kept, ascending id. */
  list(): readonly Generation[];
  get(id: number): Generation | undefined;
  /** Releases a `held` generation that is not superseded: it is pushed (through the canary group when there is one). */
  approve(id: number): Promise<Generation>;
  /**
   * Pushes generation `id` (one that was `pushed` before, or `rolled-back`)
   * again to every client, as a new generation with source `rollback`; the
   * generation it replaces becomes `rolled-back`. Until a later generation is
   * approved, new generations from the registry are held (the guard is pinned).
   */
  rollback(id: number): Promise<Generation>;
}
