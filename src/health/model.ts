/**
 * Constants and plain types of the health component. This file imports
 * nothing at run time, so the CLI can read the defaults without loading gRPC.
 */

/** What the monitor concludes about an instance; `draining` and `unknown` are never its verdict. */
export type Verdict = "healthy" | "unhealthy";

/**
 * Flap damping, after BGP route-flap damping (RFC 2439): every time an
 * instance's checked state flips (healthy ↔ unhealthy) it gains `penalty`
 * points, and its points halve every `halfLifeMs`. Once they exceed
 * `suppressLimit` the instance is held unhealthy, whatever its checks say,
 * until they decay below `reuseLimit`. Points never exceed `maxPenalty`, which
 * bounds the hold: at most halfLifeMs × log2(maxPenalty / reuseLimit) after
 * the last flip.
 */
export interface DampingPolicy {
  readonly penalty: number;
  readonly suppressLimit: number;
  readonly reuseLimit: number;
  readonly halfLifeMs: number;
  readonly maxPenalty: number;
}

/**
 * 1000 points a flip, held above 3000, released below 1000, half-life 60 s,
 * at most 8000 points (so held at most 3 minutes after the last flip). A
 * restart (two flips) is never held; an instance flipping at the default
 * check settings (5 s interval, thresholds 2/3: a flip every ~12 s) is held
 * from its fourth flip, and a steady flapper stays held.
 */
export const DAMPING_DEFAULTS: DampingPolicy = {
  penalty: 1000,
  suppressLimit: 3000,
  reuseLimit: 1000,
  halfLifeMs: 60_000,
  maxPenalty: 8000,
};

/** How long a TTL instance that missed its TTL stays (unhealthy) before it is removed: 30 s. */
export const TTL_GRACE_DEFAULT_MS = 30_000;

/** Each wait between two checks of one instance is the interval ± this share of it. */
export const CHECK_JITTER = 0.1;
