import type { ControlPlaneProcess } from "./control-plane.js";
import type { DnsRelay } from "./dns-relay.js";
import { createFaultDriver } from "./fault-driver.js";
import type { GatewayFleet } from "./fleet.js";
import { createPolicyDriver } from "./policy-driver.js";
import type { FaultWindow, PhaseWindow } from "../report/index.js";
import type { ControlPlaneName, DiscoveryMode, TimelineEntry } from "../scenario/index.js";

export interface TimelineDeps {
  /** Every control plane of the run; faults hit each one that is running. */
  readonly controlPlanes: ReadonlyMap<ControlPlaneName, ControlPlaneProcess>;
  readonly dns: DnsRelay;
  readonly fleets: ReadonlyMap<string, GatewayFleet>;
  readonly speed: number;
  /** Real ms since time 0. */
  readonly now: () => number;
  readonly later: (ms: number, fn: () => void) => void;
  readonly onNote: (text: string) => void;
}

interface OpenWindow {
  readonly kind: string;
  readonly services: readonly string[];
  readonly layer?: string;
  readonly startMs: number;
  endMs?: number;
}

/**
 * Applies timeline entries and keeps the fault windows and phases as they
 * really happened. Faults hit every running control plane, in timeline order (see
 * createFaultDriver); a window opens once every plane has the fault.
 * Policies go to every running control plane (createPolicyDriver). A phase
 * starts once its entry has taken effect; an entry that fails starts none.
 */
export function createTimelineActor(deps: TimelineDeps) {
  const windows: OpenWindow[] = [];
  const phaseStarts: Array<{ readonly name: string; readonly startMs: number }> = [];
  const faults = createFaultDriver(deps);
  const policies = createPolicyDriver(deps);

  function close(kind: string | undefined): void {
    for (const w of windows) if (w.endMs === undefined && (kind === undefined || w.kind === kind)) w.endMs = deps.now();
  }

  async function apply(entry: TimelineEntry): Promise<void> {
    await act(entry);
    if (entry.phase !== undefined) phaseStarts.push({ name: entry.phase, startMs: deps.now() });
  }

  async function act(entry: TimelineEntry): Promise<void> {
    switch (entry.action) {
      case "fault":
        await faults.inject(entry);
        windows.push({ kind: entry.kind, services: entry.services, layer: entry.layer, startMs: deps.now() });
        return;
      case "clear-fault":
        await faults.clear(entry.kind);
        close(entry.kind);
        return;
      case "remediate":
        return remediate(entry.cohort, entry.to, entry.untilSec === undefined ? 0 : ((entry.untilSec - entry.atSec) * 1000) / deps.speed);
      case "kill":
        await deps.controlPlanes.get(entry.controlPlane)!.kill();
        windows.push({ kind: "control-plane-down", services: [], startMs: deps.now() });
        return;
      case "restart":
        if (entry.cohorts) {
          await Promise.all(entry.cohorts.map((c) => restartGateways(c, entry.gateways)));
          return;
        }
        await deps.controlPlanes.get(entry.controlPlane)!.restart();
        close("control-plane-down");
        return;
      case "stop-dns":
        await deps.dns.stop();
        windows.push({ kind: "dns-down", services: [], startMs: deps.now() });
        return;
      case "start-dns":
        await deps.dns.start();
        close("dns-down");
        return;
      case "policy":
        return policies.apply(entry);
      case "clear-policy":
        return policies.clear(entry.service);
      case "note":
        deps.onNote(entry.note);
        return;
    }
  }

  /** Rolling restart into `to`, spread evenly over `spanMs` (at once when 0). */
  function remediate(cohort: string, to: DiscoveryMode, spanMs: number): void {
    const fleet = deps.fleets.get(cohort)!;
    const n = fleet.size();
    for (let slot = 0; slot < n; slot++) {
      const at = n === 1 ? 0 : (spanMs * slot) / (n - 1);
      deps.later(at, () => void fleet.restart(slot, to).catch((err: Error) => deps.onNote(`restart of ${cohort} gateway ${slot} failed: ${err.message}`)));
    }
  }

  /** Restarts the first `count` gateways of `cohort` (all by default) at once. */
  async function restartGateways(cohort: string, count: number | undefined): Promise<void> {
    const fleet = deps.fleets.get(cohort)!;
    const n = Math.min(count ?? fleet.size(), fleet.size());
    await Promise.all(Array.from({ length: n }, (_, slot) => fleet.restart(slot)));
  }

  return {
    apply,
    /** The windows so far, open ones ending at `endMs`. */
    windows(endMs: number): FaultWindow[] {
      return windows.map((w) => ({ kind: w.kind, services: [...w.services], ...(w.layer !== undefined && { layer: w.layer }), startMs: w.startMs, endMs: w.endMs ?? endMs }));
    },
    /** The phases that started, in order, each until the next one started or `endMs`. */
    phases(endMs: number): PhaseWindow[] {
      const started = [...phaseStarts].sort((a, b) => a.startMs - b.startMs);
      return started.map((p, i) => ({ name: p.name, startMs: p.startMs, endMs: started[i + 1]?.startMs ?? endMs }));
    },
    active(): string[] {
      return windows.filter((w) => w.endMs === undefined).map((w) => `${w.layer === "pipeline" ? "pipeline " : ""}${w.kind}${w.services.length ? `(${w.services.join(",")})` : ""}`);
    },
  };
}
