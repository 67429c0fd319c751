/**
 * The shape of a lab scenario once it is loaded: every field validated,
 * defaults filled in, and every time turned into scenario seconds since the
 * scenario's start.
 *
 * Two clocks: the timeline runs in scenario time, which the lab compresses
 * by `speed` (scenario seconds per real second); the workload (rates, retry
 * backoff, restart period) is real time, because it drives real processes.
 */
import type { TrafficPolicy } from "../../registry/index.js";

/** The demo backend's services that register in steadymesh (gateways belong to cohorts). */
export const DEMO_SERVICES = ["accounts", "login", "playback"] as const;
export type DemoService = (typeof DEMO_SERVICES)[number];

/**
 * The lab's control planes, each a `steadymesh serve` process with its own
 * registry (every demo service registers in each): `primary` runs with the
 * push guard's holds off (`--no-guard`), standing for a control plane
 * without one; `guarded`, when listed, runs with the guard on at its
 * default thresholds, and so does `guarded-2`, a second one for cohorts
 * whose traffic policy (set with a policy entry's `controlPlanes`) must not
 * reach the clients of `guarded` (a policy changes what every client of a
 * control plane sees). Cohorts choose one; faults hit every one.
 */
export const CONTROL_PLANES = ["primary", "guarded", "guarded-2"] as const;
export type ControlPlaneName = (typeof CONTROL_PLANES)[number];

/**
 * How a cohort's gateways find `login`. `xds-dns-fallback` is the stock
 * client with the default bootstrap, like xds-default, whose host resolver
 * forwards the lab's DNS domain (`.mesh`) to steadymesh's DNS, so that a
 * `dnsFallback` policy (gRFC A37's LOGICAL_DNS Cluster) can resolve there;
 * the policy itself comes from the timeline.
 */
export const DISCOVERY_MODES = ["xds-default", "xds-remediated", "xds-ignore-deletion", "steady", "dns", "xds-dns-fallback"] as const;
export type DiscoveryMode = (typeof DISCOVERY_MODES)[number];

/**
 * The one DNS fallback the lab serves: its login load balancer
 * (runner/login-balancer.ts), registered as service `login-lb` in every
 * control plane; a `dnsFallback` policy on login must name it.
 */
export const LOGIN_BALANCER = { service: "login-lb", port: 15443, dnsName: "login-lb.service.mesh" } as const;

/** The faults of the control plane's fault API (`POST /v1/faults`). */
export const FAULT_KINDS = ["config-loss", "stream-error", "empty-endpoints", "stall", "invalid-config"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Kinds that act on whole ADS streams, so `services` may be empty (every stream), and only at the server layer. */
export const STREAM_FAULT_KINDS: readonly FaultKind[] = ["stream-error", "stall"];

/**
 * Where a fault acts: `server`, on what the xDS server sends (below the push
 * guard, which cannot see it), or `pipeline`, on the snapshots the builder
 * hands to the guard (a config-pipeline bug, which the guard judges).
 */
export const FAULT_LAYERS = ["server", "pipeline"] as const;
export type FaultLayer = (typeof FAULT_LAYERS)[number];

export const ACTIONS = ["fault", "clear-fault", "remediate", "kill", "restart", "stop-dns", "start-dns", "policy", "clear-policy", "note"] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * Which attempts an SLO counts: all, those started inside a disruption
 * window, those after the last one ended, or those of one named phase of the
 * timeline (`phase`, with the SLO's `phase` field; see EntryBase.phase).
 */
export const SLO_WINDOWS = ["whole", "during-fault", "after-fault", "phase"] as const;
export type SloWindow = (typeof SLO_WINDOWS)[number];

/**
 * Whose attempts an SLO counts: `all` gateways, or only `warm` ones, leaving
 * out the attempts a gateway served while the disruption it started in (its
 * cold start) lasted. The report shows those as the cohort's cold starts.
 */
export const SLO_GATEWAYS = ["all", "warm"] as const;
export type SloGateways = (typeof SLO_GATEWAYS)[number];

export const GRPC_STATUS_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
] as const;
export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

export interface Source {
  readonly title: string;
  readonly url: string;
}

export interface Topology {
  /** Instances of each demo service, 1–20. */
  readonly instances: Readonly<Record<DemoService, number>>;
  /** Instance metadata the instances above register with, per service (e.g. `login: { version: "1" }`); a service absent here: none. */
  readonly metadata: Readonly<Partial<Record<DemoService, Readonly<Record<string, string>>>>>;
  /** A new release of one service, started beside its instances; absent: none. */
  readonly canary?: Canary;
  /** Always contains `primary`. */
  readonly controlPlanes: readonly ControlPlaneName[];
}

/**
 * Instances of a new release of `service` (ids `<service>-canary-<i>`),
 * registered in every control plane with `metadata`, which differs from the
 * service's other instances so a policy subset can pick them out. With
 * `fails` (login only) every call they take fails with that status: a bad
 * release. Without a policy that keeps traffic from them, clients that
 * balance over the whole service send them their share.
 */
export interface Canary {
  readonly service: DemoService;
  /** 1–20. */
  readonly instances: number;
  /** At least one pair. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly fails?: GrpcStatusName;
}

export interface Cohort {
  /** A DNS label, unique in the scenario. */
  readonly name: string;
  readonly discovery: DiscoveryMode;
  /** Gateway processes in this cohort, 1–10. */
  readonly gateways: number;
  /** The control plane its gateways use (default `primary`); one in `topology.controlPlanes`. */
  readonly controlPlane: ControlPlaneName;
  /** Whether `workload.restarts` restarts its gateways (default true). */
  readonly scheduledRestarts: boolean;
  /** What the scenario author expects of this cohort and why; shown in the report. */
  readonly explain?: string;
}

/** Real time, per cohort: the lab drives real processes. */
export interface Workload {
  /** Virtual users per cohort. */
  readonly users: number;
  /** Share of users logged in (playing music) at the start, 0–1. */
  readonly loggedInShare: number;
  /** Fresh login attempts per real second per cohort, not counting retries. */
  readonly loginRatePerSec: number;
  /** A user retries a failed login after min(maxMs, baseMs·2^n), ± jitter (0–1) of that delay. */
  readonly retry: { readonly baseMs: number; readonly maxMs: number; readonly jitter: number };
  /** Every `everySec` real seconds, restart this share (0–1] of each cohort's gateways; absent: no scheduled restarts. */
  readonly restarts?: { readonly everySec: number; readonly share: number };
}

interface EntryBase {
  /** Scenario seconds since the scenario's start. */
  readonly atSec: number;
  /** The scenario clock at this entry, `HH:MM` or `HH:MM:SS`. */
  readonly clock: string;
  readonly note?: string;
  /**
   * A phase of the timeline starts once this entry has taken effect, and
   * lasts until the next entry that starts a phase, or the end. SLOs with
   * window `phase` measure one. A DNS label, used once per timeline.
   */
  readonly phase?: string;
}

export type TimelineEntry = EntryBase &
  (
    | {
        readonly action: "fault";
        readonly kind: FaultKind;
        /** Default `server`; stream-error and stall are server-only. The fault hits every control plane. */
        readonly layer: FaultLayer;
        /** Empty only for stream-error and stall: every stream. */
        readonly services: readonly DemoService[];
        /** stream-error only; defaults to UNAVAILABLE. */
        readonly status?: GrpcStatusName;
      }
    /** Clears the active faults of `kind`, or every active fault. */
    | { readonly action: "clear-fault"; readonly kind?: FaultKind }
    /**
     * People move `cohort` to discovery `to` by a rolling restart of its
     * gateways, spread evenly until `untilSec` (at once when absent).
     */
    | { readonly action: "remediate"; readonly cohort: string; readonly to: DiscoveryMode; readonly untilSec?: number }
    /** SIGKILL a control plane. */
    | { readonly action: "kill"; readonly controlPlane: ControlPlaneName }
    /**
     * Start a killed control plane again, or restart gateways of the cohorts
     * at once (cold starts): the first `gateways` of each, or all of them.
     */
    | { readonly action: "restart"; readonly controlPlane: ControlPlaneName; readonly cohorts?: undefined }
    | { readonly action: "restart"; readonly cohorts: readonly string[]; readonly gateways?: number; readonly controlPlane?: undefined }
    | { readonly action: "stop-dns" }
    | { readonly action: "start-dns" }
    /**
     * Sets `service`'s traffic policy on every running control plane of
     * `controlPlanes` (`PUT /v1/services/{service}/policy`), replacing any
     * before it. `controlPlanes` absent: every one of the topology.
     */
    | { readonly action: "policy"; readonly service: DemoService; readonly policy: TrafficPolicy; readonly controlPlanes?: readonly ControlPlaneName[] }
    /** Deletes `service`'s traffic policy on every running control plane (`DELETE /v1/services/{service}/policy`). */
    | { readonly action: "clear-policy"; readonly service: DemoService }
    | { readonly action: "note"; readonly note: string }
  );

export interface Slo {
  readonly cohort: string;
  readonly window: SloWindow;
  /** Lowest acceptable success share, 0–1. */
  readonly minSuccess: number;
  /**
   * Highest acceptable success share, 0–1: a check that the replay really
   * reproduces a failure (e.g. the stock client during the 2022 outage).
   */
  readonly maxSuccess?: number;
  /** Default `all`. */
  readonly gateways: SloGateways;
  /** Only with window `phase`: the phase measured (a timeline entry's `phase`). */
  readonly phase?: string;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly sources: readonly Source[];
  /** Default speed: scenario seconds per real second. */
  readonly speed: number;
  /** Default seed for the workload's randomness. */
  readonly seed: number;
  /** The scenario clock at its start, in seconds since midnight (e.g. 18:00 → 64800). */
  readonly startOfDaySec: number;
  /** Scenario seconds from start to end. */
  readonly durationSec: number;
  readonly topology: Topology;
  readonly cohorts: readonly Cohort[];
  readonly workload: Workload;
  /** Sorted by `atSec`. */
  readonly timeline: readonly TimelineEntry[];
  readonly slos: readonly Slo[];
  /** The file it was loaded from, or a label for text parsed directly. */
  readonly file: string;
}
