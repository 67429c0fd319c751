import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from "prom-client";
import { registerEventLoopDelay } from "./event-loop-delay.js";

export {
  EVENT_LOOP_DELAY_BUCKETS,
  EVENT_LOOP_DELAY_MAX_METRIC,
  EVENT_LOOP_DELAY_METRIC,
  EVENT_LOOP_DELAY_RESOLUTION_MS,
  registerEventLoopDelay,
  type DelaySamples,
  type EventLoopDelayOptions,
} from "./event-loop-delay.js";

/** The metrics steadymesh exports on `GET /metrics`; one instance per server, no globals. */
export interface Metrics {
  readonly registry: PromRegistry;
  /** Open ADS streams. */
  readonly xdsClients: Gauge<never>;
  /** Discovery responses sent, by short type (LDS, RDS, CDS, EDS). */
  readonly xdsPushes: Counter<"type">;
  readonly xdsAcks: Counter<"type">;
  readonly xdsNacks: Counter<"type">;
  /** Requests the server could not use (unknown type URL, missing field…). */
  readonly xdsBadRequests: Counter<"reason">;
  /** ADS streams ended because a request went past one of the xDS limits, by limit (`maxTypeUrlChars`, …; xds/limits.ts). */
  readonly xdsStreamsLimited: Counter<"limit">;
  /** Log lines held back by a rate limit, by kind (`nack`, `unknown-type-url`, `stream-ended`). */
  readonly logLinesSuppressed: Counter<"kind">;
  readonly xdsResourceEncodings: Counter<"protocol">;
  readonly registryRevision: Gauge<never>;
  /** Snapshots built from the registry, by result (`ok`: every service built; `partial`: some kept their last good resources). */
  readonly snapshotBuilds: Counter<"result">;
  /** 1 for each service whose configuration does not build (its clients keep its last good resources); the series is removed when it builds again. */
  readonly snapshotServiceFailing: Gauge<"service">;
  /**
   * DNS messages received, by question type (A, AAAA, SRV, SOA, NS, ANY,
   * OTHER, or NONE when no question could be read) and response code
   * (NOERROR, NXDOMAIN, …, or DROPPED when nothing was sent back).
   */
  readonly dnsQueries: Counter<"qtype" | "rcode">;
  /** Lab faults active now (`serve --enable-faults`, `/v1/faults`). */
  readonly faultsActive: Gauge<never>;
  /** Lab faults injected since start, by kind (`config-loss`, `stream-error`, `empty-endpoints`, `stall`). */
  readonly faultsInjected: Counter<"kind">;
  /** Generations the push guard decided on, by the status it gave them first (`pushed`, `held`, `rejected`, `canary`). */
  readonly generations: Counter<"status">;
  /** Holds, by rule: `resource-removal`, `endpoint-removal`, `zero-endpoints`, `black-hole`, `mtls-readiness`, `canary-nack`, `pinned`. */
  readonly guardHolds: Counter<"rule">;
  /** 1 while a held generation keeps clients on an older one, else 0. */
  readonly guardHolding: Gauge<never>;
  /** The id of the generation every client group has. */
  readonly generationPushed: Gauge<never>;
  /** The id of the generation in canary, 0 when none. */
  readonly generationCanary: Gauge<never>;
  /** Active health checks run, by kind (`grpc`, `http`, `tcp`) and result (`pass`, `fail`). */
  readonly healthChecks: Counter<"kind" | "result">;
  /** Health changes the monitor wrote, by the state written (`healthy`, `unhealthy`). */
  readonly healthTransitions: Counter<"to">;
  /** Instances that flap damping holds unhealthy now. */
  readonly healthSuppressed: Gauge<never>;
  /** TTL heartbeats accepted. */
  readonly heartbeats: Counter<never>;
  /** Instances removed because their TTL and grace period ran out. */
  readonly ttlRemovals: Counter<never>;
  /** Subscribed names a client asked for that its served snapshot does not have, counted once per stream, type and name. */
  readonly xdsUnknownNames: Counter<"type">;
  /** Seconds from the first registry change a generation holds to each client's first ACK of a response from that generation. */
  readonly pushPropagation: Histogram<never>;
  /** Seconds a snapshot build took (a stepped build: from its first step to its last). */
  readonly snapshotBuild: Histogram<never>;
  /** Seconds the push guard took to decide on one offered snapshot (validation, diff, save). */
  readonly guardDecision: Histogram<never>;
  /** Seconds the admin API took to answer, by method, route pattern (`/v1/services/:service`; `unmatched` for none) and status. */
  readonly adminRequests: Histogram<"method" | "route" | "status">;
  /** Instances per service and health state; a series per service and state (at most 4 per service), removed when it reaches 0. */
  readonly serviceEndpoints: Gauge<"service" | "health">;
  /** Held generations not yet approved, superseded or released. */
  readonly generationsHeld: Gauge<never>;
  /** Open `GET /v1/events` streams (the web console's live updates, and any `curl -N`). */
  readonly eventStreams: Gauge<never>;
  /** Web console logins, by result: `ok`, `refused` (a bad token, or one that may not read) or `limited` (429). */
  readonly consoleLogins: Counter<"result">;
  /** 1 while the last store commit succeeded, 0 after one failed as unavailable (etcd unreachable, store closed). */
  readonly storeUp: Gauge<never>;
  /** Unix time (seconds) of the last successful store commit; 0 before the first. */
  readonly storeLastCommit: Gauge<never>;
}

/** Upper bounds (seconds) of the push propagation histogram: the goal is p99 under 1 s (README, "Scale"). */
export const PROPAGATION_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Upper bounds (seconds) of snapshot build and guard decision times. */
export const BUILD_BUCKETS: readonly number[] = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Upper bounds (seconds) of admin request times. */
export const ADMIN_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * A fresh set of metrics in a registry of its own. `processMetrics` (default
 * true) adds prom-client's process and Node.js metrics and the event-loop
 * delay histogram (event-loop-delay.ts); tests leave them out.
 */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new PromRegistry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: "steadymesh_" });
    registerEventLoopDelay(registry);
  }
  const registers = [registry];
  return {
    registry,
    xdsClients: new Gauge({ name: "steadymesh_xds_clients", help: "Open ADS streams.", registers }),
    xdsPushes: new Counter({ name: "steadymesh_xds_pushes_total", help: "Discovery responses sent, by type.", labelNames: ["type"], registers }),
    xdsAcks: new Counter({ name: "steadymesh_xds_acks_total", help: "ACKs received, by type.", labelNames: ["type"], registers }),
    xdsNacks: new Counter({ name: "steadymesh_xds_nacks_total", help: "NACKs received, by type.", labelNames: ["type"], registers }),
    xdsResourceEncodings: new Counter({ name: "steadymesh_xds_resource_encodings_total", help: "Resource versions encoded as response entries (once per version and protocol, shared by every stream), by protocol.", labelNames: ["protocol"], registers }),
    xdsBadRequests: new Counter({ name: "steadymesh_xds_bad_requests_total", help: "Discovery requests that could not be used, by reason.", labelNames: ["reason"], registers }),
    xdsStreamsLimited: new Counter({ name: "steadymesh_xds_streams_limited_total", help: "ADS streams ended because a request went past an xDS limit, by limit.", labelNames: ["limit"], registers }),
    logLinesSuppressed: new Counter({ name: "steadymesh_log_lines_suppressed_total", help: "Log lines held back by a rate limit (repeated per client and kind), by kind.", labelNames: ["kind"], registers }),
    registryRevision: new Gauge({ name: "steadymesh_registry_revision", help: "Current registry revision.", registers }),
    snapshotBuilds: new Counter({ name: "steadymesh_snapshot_builds_total", help: "Snapshots built from the registry, by result (ok, partial).", labelNames: ["result"], registers }),
    snapshotServiceFailing: new Gauge({ name: "steadymesh_snapshot_service_failing", help: "1 for each service whose configuration does not build; its clients keep its last good resources.", labelNames: ["service"], registers }),
    dnsQueries: new Counter({ name: "steadymesh_dns_queries_total", help: "DNS messages received, by question type and response code (DROPPED: no response sent).", labelNames: ["qtype", "rcode"], registers }),
    faultsActive: new Gauge({ name: "steadymesh_faults_active", help: "Injected lab faults active now.", registers }),
    faultsInjected: new Counter({ name: "steadymesh_faults_injected_total", help: "Lab faults injected, by kind.", labelNames: ["kind"], registers }),
    generations: new Counter({ name: "steadymesh_generations_total", help: "Generations the push guard decided on, by first status.", labelNames: ["status"], registers }),
    guardHolds: new Counter({ name: "steadymesh_guard_holds_total", help: "Generations held by the push guard, by rule.", labelNames: ["rule"], registers }),
    guardHolding: new Gauge({ name: "steadymesh_guard_holding", help: "1 while a held generation keeps clients on an older one.", registers }),
    generationPushed: new Gauge({ name: "steadymesh_generation_pushed", help: "Id of the generation every client group has.", registers }),
    generationCanary: new Gauge({ name: "steadymesh_generation_canary", help: "Id of the generation in canary, 0 when none.", registers }),
    healthChecks: new Counter({ name: "steadymesh_health_checks_total", help: "Active health checks run, by kind and result.", labelNames: ["kind", "result"], registers }),
    healthTransitions: new Counter({ name: "steadymesh_health_transitions_total", help: "Instance health changes written by the health monitor, by new state.", labelNames: ["to"], registers }),
    healthSuppressed: new Gauge({ name: "steadymesh_health_suppressed_instances", help: "Instances held unhealthy by flap damping.", registers }),
    heartbeats: new Counter({ name: "steadymesh_heartbeats_total", help: "TTL heartbeats accepted.", registers }),
    ttlRemovals: new Counter({ name: "steadymesh_ttl_removals_total", help: "Instances removed after missing their TTL and the grace period.", registers }),
    xdsUnknownNames: new Counter({ name: "steadymesh_xds_unknown_resource_names_total", help: "Subscribed resource names the served snapshot does not have, once per stream, type and name.", labelNames: ["type"], registers }),
    pushPropagation: new Histogram({ name: "steadymesh_push_propagation_seconds", help: "Seconds from a registry change to each client's first ACK of a generation holding it.", buckets: [...PROPAGATION_BUCKETS], registers }),
    snapshotBuild: new Histogram({ name: "steadymesh_snapshot_build_seconds", help: "Seconds a snapshot build took.", buckets: [...BUILD_BUCKETS], registers }),
    guardDecision: new Histogram({ name: "steadymesh_guard_decision_seconds", help: "Seconds the push guard took to decide on one snapshot.", buckets: [...BUILD_BUCKETS], registers }),
    adminRequests: new Histogram({ name: "steadymesh_admin_request_duration_seconds", help: "Admin API request time, by method, route pattern and status.", labelNames: ["method", "route", "status"], buckets: [...ADMIN_BUCKETS], registers }),
    serviceEndpoints: new Gauge({ name: "steadymesh_service_endpoints", help: "Instances per service and health state.", labelNames: ["service", "health"], registers }),
    eventStreams: new Gauge({ name: "steadymesh_event_streams", help: "Open GET /v1/events streams.", registers }),
    consoleLogins: new Counter({ name: "steadymesh_console_logins_total", help: "Web console logins, by result (ok, refused, limited).", labelNames: ["result"], registers }),
    generationsHeld: new Gauge({ name: "steadymesh_generations_held", help: "Held generations not yet approved, superseded or released.", registers }),
    storeUp: new Gauge({ name: "steadymesh_store_up", help: "1 while the last store commit succeeded, 0 after one failed as unavailable.", registers }),
    storeLastCommit: new Gauge({ name: "steadymesh_store_last_commit_timestamp_seconds", help: "Unix time of the last successful store commit.", registers }),
  };
}

/** Counts of connected xDS clients, read at each scrape. */
export interface ClientCounts {
  /** Clients with a response not yet ACKed (still in flight, or NACKed): behind what they were pushed. */
  readonly behind: number;
  /** Clients whose last response of some type was NACKed. */
  readonly nacking: number;
}

/**
 * Registers `steadymesh_xds_clients_behind` and `steadymesh_xds_clients_nacking`,
 * read from `read` at each scrape (a pass over the open streams per scrape,
 * nothing per change).
 */
export function registerClientGauges(metrics: Metrics, read: () => ClientCounts): void {
  const registers = [metrics.registry];
  new Gauge({
    name: "steadymesh_xds_clients_behind",
    help: "Connected clients with a response not yet ACKed (in flight or NACKed).",
    registers,
    collect() {
      this.set(read().behind);
    },
  });
  new Gauge({
    name: "steadymesh_xds_clients_nacking",
    help: "Connected clients whose last response of some type was NACKed.",
    registers,
    collect() {
      this.set(read().nacking);
    },
  });
}
