import type { Snapshot } from "../snapshot/index.js";
import type { Canary } from "./canary.js";
import type { Generation } from "./model.js";

/** The generation every client group has, with its snapshot. */
export interface Served {
  readonly gen: Generation;
  readonly snapshot: Snapshot;
}

/**
 * The executor's one state (drawn in docs/architecture.md). `held` is the
 * newest open hold of the book (held, not superseded); `cancelStep` stops
 * the timer of the next drain step.
 * - `empty`: nothing pushed yet; the next valid generation goes out unchecked;
 * - `idle`: every client has `served`; nothing held, no canary;
 * - `holding`: `held` waits for an approval; nothing is drained (pinned, a
 *   canary NACK, or a drain that released all it could);
 * - `draining`: a step of `held` is tried every drainIntervalMs;
 * - `canary`: `canary` bakes in the canary group; a hold may wait beside it,
 *   its drain timer trying again until the canary is over;
 * - `closed`: no more decisions.
 */
export type GuardState =
  | { readonly kind: "empty" }
  | { readonly kind: "idle"; readonly served: Served }
  | { readonly kind: "holding"; readonly served: Served; readonly held: number }
  | { readonly kind: "draining"; readonly served: Served; readonly held: number; readonly cancelStep: () => void }
  | { readonly kind: "canary"; readonly served: Served; readonly canary: Canary; readonly held?: number; readonly cancelStep?: () => void }
  | { readonly kind: "closed" };

/**
 * The state for `served`, `canary` and a pending drain step, given the
 * book's newest open hold. A step with nothing to drain (no hold, or a hold
 * a canary NACKed) is cancelled and left out.
 */
export function settledState(served: Served, held: Generation | undefined, canary?: Canary, cancelStep?: () => void): GuardState {
  const step = held && !held.nack ? cancelStep : undefined;
  if (step !== cancelStep) cancelStep?.();
  if (canary) return { kind: "canary", served, canary, ...(held && { held: held.id }), ...(step && { cancelStep: step }) };
  if (!held) return { kind: "idle", served };
  return step ? { kind: "draining", served, held: held.id, cancelStep: step } : { kind: "holding", served, held: held.id };
}

export function canaryOf(state: GuardState): Canary | undefined {
  return state.kind === "canary" ? state.canary : undefined;
}

export function stepOf(state: GuardState): (() => void) | undefined {
  return state.kind === "draining" || state.kind === "canary" ? state.cancelStep : undefined;
}

/** The open hold the state knows of, if any. */
export function heldOf(state: GuardState): number | undefined {
  return state.kind === "holding" || state.kind === "draining" || state.kind === "canary" ? state.held : undefined;
}
