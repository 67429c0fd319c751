import type { Clock } from "../clock/index.js";
import { NotFoundError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Codec } from "../proto/index.js";
import type { Fault, FaultInjector } from "./fault-injector.js";
import { parseFaultSpec, type FaultLayer, type LabFaultKind, type LabFaultRequest, type LabFaultSpec } from "./fault-spec.js";
import { isResourceFaultKind, resourceFaults } from "./faulty-resources.js";
import { GRPC_STATUS_CODES, type GrpcStatusName } from "./grpc-status.js";
import type { PipelineFaults } from "./pipeline-faults.js";

/** An active fault as the API shows it. Times are ISO 8601 (UTC), read from the injected Clock. */
export interface LabFault {
  readonly id: string;
  readonly kind: LabFaultKind;
  /** `server` (below the push guard) or `pipeline` (above it). */
  readonly layer: FaultLayer;
  readonly services: readonly string[];
  readonly status?: GrpcStatusName;
  readonly durationMs?: number;
  readonly createdAt: string;
  readonly expiresAt?: string;
}

/**
 * The lab's faults, mapped onto two decorators: the FaultInjector around the
 * snapshot cache and the stream gate (layer `server`, below the push guard),
 * and the PipelineFaults between the builder and the guard (layer
 * `pipeline`). Nothing inside the registry, the builder, the guard or the
 * xDS server knows about them.
 */
export interface LabFaults {
  /**
   * Validates `spec` (parseFaultSpec; throws ValidationError and applies
   * nothing when it is bad) and activates it at once: at the server layer,
   * open streams see it in their next response; at the pipeline layer, the
   * guard gets the transformed snapshot at once. With `durationMs`, it is
   * removed when that expires.
   */
  add(spec: LabFaultRequest): LabFault;
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
  /** Where `layer: pipeline` faults go. */
  readonly pipeline: PipelineFaults;
  /** Encodes the resources that empty-endpoints and invalid-config put in place. */
  readonly codec: Codec;
  /** Expiry timers and timestamps; a fake clock in tests. */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

interface ActiveFault {
  readonly view: LabFault;
  /** Injector fault ids, in the order they were added (server layer). */
  readonly injectorIds: readonly string[];
  /** The pipeline fault's id (pipeline layer). */
  readonly pipelineId?: string;
  cancelExpiry?: () => void;
}

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
    if (entry.pipelineId !== undefined) deps.pipeline.remove(entry.pipelineId);
    active.delete(id);
    updateGauge();
    const { kind, layer, services } = entry.view;
    logger.warn({ fault: id, kind, layer, services, reason }, "fault removed");
    return entry.view;
  }

  return {
    add(requested) {
      const spec = parseFaultSpec(requested);
      const id = `fault-${++seq}`;
      const entry: ActiveFault = { view: faultView(id, spec, deps.clock.now()), ...activate(deps, spec, id) };
      active.set(id, entry);
      if (spec.durationMs !== undefined) entry.cancelExpiry = deps.clock.setTimeout(() => removeActive(id, "expired"), spec.durationMs);
      deps.metrics?.faultsInjected.inc({ kind: spec.kind });
      updateGauge();
      const { kind, layer, services, status, durationMs } = spec;
      logger.warn({ fault: id, kind, layer, services, status, durationMs }, "fault injected");
      return entry.view;
    },
    list: () => [...active.values()].map((entry) => entry.view),
    remove: (id) => removeActive(id, "deleted"),
    clear: () => [...active.keys()].map((id) => removeActive(id, "cleared")),
    close() {
      for (const entry of active.values()) entry.cancelExpiry?.();
    },
  };
}

/** Applies the spec on its layer. Everything that can throw comes before the first change, so a failure applies nothing. */
function activate(deps: LabFaultsDeps, spec: LabFaultSpec, id: string): Pick<ActiveFault, "injectorIds" | "pipelineId"> {
  if (spec.layer === "pipeline" && isResourceFaultKind(spec.kind)) {
    return { injectorIds: [], pipelineId: deps.pipeline.add({ kind: spec.kind, services: spec.services }) };
  }
  const injectorFaults = toInjectorFaults(spec, id, deps.codec);
  return { injectorIds: injectorFaults.map((fault) => deps.injector.add(fault)) };
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

/** The injector's decorators that together make one lab fault at the server layer. */
function toInjectorFaults(spec: LabFaultSpec, id: string, codec: Codec): Fault[] {
  switch (spec.kind) {
    case "config-loss":
    case "empty-endpoints":
    case "invalid-config":
      return resourceFaults(spec.kind, spec.services, codec);
    case "stream-error": {
      const status = spec.status ?? "UNAVAILABLE";
      return [{ kind: "stream-error", code: GRPC_STATUS_CODES[status], details: `ADS stream ended by injected fault ${id} (stream-error ${status})` }];
    }
    case "stall":
      return [{ kind: "stall" }];
  }
}
