import type { FaultKind, FaultLayer, Scenario } from "./model.js";

/** What a disruption window is: a control-plane fault, a killed control plane, or the DNS server stopped. */
export type DisruptionKind = FaultKind | "control-plane-down" | "dns-down";

/** One planned disruption, in scenario seconds since the start. */
export interface Disruption {
  readonly kind: DisruptionKind;
  /** The faulted services; empty when it hits every stream (stream-error, stall) or is not per service. */
  readonly services: readonly string[];
  /** For a fault: where it acts (`server` or `pipeline`). */
  readonly layer?: FaultLayer;
  readonly startSec: number;
  /** The scenario's end if the timeline never clears it. */
  readonly endSec: number;
}

/**
 * The disruption windows the timeline plans, in order of start: each fault
 * until the clear-fault that clears it, each kill until the control plane's
 * restart, each stop-dns until start-dns. SLO windows "during-fault" and
 * "after-fault" are defined by these.
 */
export function plannedDisruptions(scenario: Scenario): Disruption[] {
  const done: Disruption[] = [];
  let open: Array<Omit<Disruption, "endSec"> & { key: string }> = [];
  const close = (atSec: number, match: (key: string) => boolean): void => {
    for (const { key: _key, ...window } of open.filter((w) => match(w.key))) done.push({ ...window, endSec: atSec });
    open = open.filter((w) => !match(w.key));
  };
  for (const entry of scenario.timeline) {
    const at = entry.atSec;
    if (entry.action === "fault") open.push({ key: `fault:${entry.kind}`, kind: entry.kind, services: entry.services, layer: entry.layer, startSec: at });
    if (entry.action === "clear-fault") close(at, (key) => key.startsWith("fault:") && (entry.kind === undefined || key === `fault:${entry.kind}`));
    if (entry.action === "kill") open.push({ key: `plane:${entry.controlPlane}`, kind: "control-plane-down", services: [], startSec: at });
    if (entry.action === "restart" && entry.controlPlane !== undefined) close(at, (key) => key === `plane:${entry.controlPlane}`);
    if (entry.action === "stop-dns") open.push({ key: "dns", kind: "dns-down", services: [], startSec: at });
    if (entry.action === "start-dns") close(at, (key) => key === "dns");
  }
  close(scenario.durationSec, () => true);
  return done.sort((a, b) => a.startSec - b.startSec);
}
