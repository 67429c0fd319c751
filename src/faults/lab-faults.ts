import type { Clock } from "../clock/index.js";
import { NotFoundError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type Codec } from "../proto/index.js";
import { createResource } from "../snapshot/index.js";
import type { Fault, FaultInjector } from "./fault-injector.js";
import { parseFaultSpec, type LabFaultKind, type LabFaultSpec } from "./fault-spec.js";
import { GRPC_STATUS_CODES, type GrpcStatusName } from "./grpc-status.js";

/** An active fault as the API shows it. Times are ISO 8601 (UTC), read from the injected Clock. */
export interface LabFault {
  readonly id: string;
  readonly kind: LabFaultKind;
  readonly services: readonly string[];
  readonly status?: GrpcStatusName;
  readonly durationMs?: number;
  readonly createdAt: string;
  readonly expiresAt?: string;
}

/**
 * The lab's faults, mapped onto the low-level FaultInjector. Every fault is a
 * decorator around the real watcher or the stream gate; nothing inside the
 * registry, the builder or the xDS server knows about it.
 */
export interface LabFaults {
  /**
   * Validates `spec` (parseFaultSpec; throws ValidationError and applies
   * nothing when it is bad) and activates it at once: open streams see it in
   * their next response. With `durationMs`, it is removed when that expires.
   */
  add(spec: LabFaultSpec): LabFault;
  /** Active faults, oldest first. */
  list(): LabFault[];
  /** Removes one fault and restores what it hid; throws NotFoundError for an unknown id. */
  remove(id: string): LabFault;
  /** Removes every fault; returns what was removed, oldest first. */
  clear(): LabFault[];
  /** Cancels expiry timers without touching the faults; for server shutdown. */
  close(): void;
}

export interface LabFaultsDeps {
  readonly injector: FaultInjector;
  /** Encodes the empty ClusterLoadAssignments of `empty-endpoints`. */
  readonly codec: Codec;
  /** Expiry timers and timestamps; a fake clock in tests. */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

interface ActiveFault {
  readonly view: LabFault;
  /** Injector fault ids, in the order they were added. */
  readonly injectorIds: readonly string[];
  cancelExpiry?: () => void;
}

/**
 * Top-down, so a client never sees a Listener whose RouteConfiguration is
 * already gone; faults are removed in reverse, so restoring is bottom-up and
 * every name a restored resource references is already back.
 */
const CONFIG_LOSS_ORDER = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE] as const;

export function createLabFaults(deps: LabFaultsDeps): LabFaults {
  const logger = deps.logger.child({ component: "faults" });
  const active = new Map<string, ActiveFault>();
  let seq = 0;

  function updateGauge(): void {
    deps.metrics?.faultsActive.set(active.size);
  }

  function removeActive(id: string, reason: "deleted" | "expired" | "cleared"): LabFault {
    const entry = active.get(id);
    if (!entry) throw new NotFoundError(`fault "${id}" not found; GET /v1/faults lists the active faults`);
    entry.cancelExpiry?.();
    for (const injectorId of [...entry.injectorIds].reverse()) deps.injector.remove(injectorId);
    active.delete(id);
    updateGauge();
    const { kind, services } = entry.view;
    logger.warn({ fault: id, kind, services, reason }, "fault removed");
    return entry.view;
  }

  return {
    add(requested) {
      const spec = parseFaultSpec(requested);
      const id = `fault-${++seq}`;
      // Everything that can throw happens before the first injector.add, so a failure applies nothing.
      const injectorFaults = toInjectorFaults(spec, id, deps.codec);
      const view = faultView(id, spec, deps.clock.now());
      const entry: ActiveFault = { view, injectorIds: injectorFaults.map((fault) => deps.injector.add(fault)) };
      active.set(id, entry);
      if (spec.durationMs !== undefined) entry.cancelExpiry = deps.clock.setTimeout(() => removeActive(id, "expired"), spec.durationMs);
      deps.metrics?.faultsInjected.inc({ kind: spec.kind });
      updateGauge();
      logger.warn({ fault: id, kind: spec.kind, services: spec.services, status: spec.status, durationMs: spec.durationMs }, "fault injected");
      return view;
    },
    list: () => [...active.values()].map((entry) => entry.view),
    remove: (id) => removeActive(id, "deleted"),
    clear: () => [...active.keys()].map((id) => removeActive(id, "cleared")),
    close() {
      for (const entry of active.values()) entry.cancelExpiry?.();
    },
  };
}

/** The fault as the API shows it. */
function faultView(id: string, spec: LabFaultSpec, now: number): LabFault {
  return {
    id,
    ...spec,
    createdAt: new Date(now).toISOString(),
    ...(spec.durationMs !== undefined && { expiresAt: new Date(now + spec.durationMs).toISOString() }),
  };
}

/** The injector's decorators that together make one lab fault. */
function toInjectorFaults(spec: LabFaultSpec, id: string, codec: Codec): Fault[] {
  switch (spec.kind) {
    case "config-loss":
      return CONFIG_LOSS_ORDER.map((typeUrl) => ({ kind: "drop-resources", typeUrl, names: spec.services }));
    case "empty-endpoints":
      // A valid assignment a client accepts (so it is not NACKed) and that leaves it with nothing to call.
      return spec.services.map((name) => ({
        kind: "replace-resource",
        resource: createResource(ENDPOINT_TYPE, name, codec.encodeResource(ENDPOINT_TYPE, { cluster_name: name, endpoints: [] })),
      }));
    case "stream-error": {
      const status = spec.status ?? "UNAVAILABLE";
      return [{ kind: "stream-error", code: GRPC_STATUS_CODES[status], details: `ADS stream ended by injected fault ${id} (stream-error ${status})` }];
    }
    case "stall":
      return [{ kind: "stall" }];
  }
}
