import type { HealthCheckKind } from "../registry/index.js";

/** What one check is aimed at. */
export interface ProbeTarget {
  readonly kind: HealthCheckKind;
  readonly address: string;
  readonly port: number;
  /** The steadymesh service name: the `service` of a gRPC health request. */
  readonly service: string;
  /** The HTTP path (http only). */
  readonly path: string;
}

/** One check's outcome; `reason` says why it failed, in a few words. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Checks of one target. Long-lived, so a connection can be kept between checks. */
export interface ProbeSession {
  /**
   * Runs one check. Resolves with a failure (never rejects) on any error;
   * stops early when `signal` aborts. The caller enforces `timeoutMs` too,
   * through its clock; the session should not take much longer.
   */
  check(options: { readonly timeoutMs: number; readonly signal: AbortSignal }): Promise<ProbeResult>;
  /** Releases whatever the session holds; checks after it are not allowed. */
  close(): void;
}

/** Opens probe sessions; the network one is createNetworkProber, unit tests pass a fake. */
export interface Prober {
  open(target: ProbeTarget): ProbeSession;
}
