/**
 * Health: active checks (gRPC health, HTTP, TCP) and TTL heartbeats that
 * keep the registry's `health` true, with jitter and flap damping.
 */
export { createHealthMonitor, type HealthMonitor, type HealthMonitorDeps, type HeartbeatResult, type LastCheck, type MonitoredRegistry } from "./monitor.js";
export { DAMPING_DEFAULTS, TTL_GRACE_DEFAULT_MS, CHECK_JITTER, type DampingPolicy } from "./model.js";
export { ownEverything, type Ownership } from "./ownership.js";
export { createRendezvousOwnership, rendezvousOwner } from "./rendezvous.js";
export type { Prober, ProbeSession, ProbeTarget, ProbeResult } from "./prober.js";
export { createNetworkProber } from "./network-prober.js";
