import type { DampingPolicy } from "./model.js";

/** One instance's flap penalty, as of `at` (clock milliseconds). */
export interface DampingState {
  readonly penalty: number;
  readonly at: number;
  /** Held unhealthy: set when the penalty rises above the suppress limit, cleared once it decays below the reuse limit. */
  readonly suppressed: boolean;
}

export const UNDAMPED: DampingState = { penalty: 0, at: 0, suppressed: false };

/** The penalty decayed from `state.at` to `now`. */
export function decayedPenalty(state: DampingState, policy: DampingPolicy, now: number): number {
  const elapsed = Math.max(0, now - state.at);
  return state.penalty * 2 ** (-elapsed / policy.halfLifeMs);
}

/** The state at `now`: decayed, and released when the penalty fell below the reuse limit. */
export function settle(state: DampingState, policy: DampingPolicy, now: number): DampingState {
  const penalty = decayedPenalty(state, policy, now);
  return { penalty, at: now, suppressed: state.suppressed && penalty >= policy.reuseLimit };
}

/** The state after one flip at `now`: the penalty added (up to the maximum), suppressed when above the limit. */
export function addFlip(state: DampingState, policy: DampingPolicy, now: number): DampingState {
  const settled = settle(state, policy, now);
  const penalty = Math.min(policy.maxPenalty, settled.penalty + policy.penalty);
  return { penalty, at: now, suppressed: settled.suppressed || penalty > policy.suppressLimit };
}

/** Milliseconds from `state.at` until a suppressed state's penalty decays below the reuse limit; undefined when not suppressed. */
export function releaseDelay(state: DampingState, policy: DampingPolicy): number | undefined {
  if (!state.suppressed) return undefined;
  if (state.penalty < policy.reuseLimit) return 0;
  // +1: the timer must land where the penalty is already below the limit, not on it.
  return Math.ceil(policy.halfLifeMs * Math.log2(state.penalty / policy.reuseLimit)) + 1;
}
