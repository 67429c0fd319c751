import type { ControlPlaneName, TimelineEntry } from "../scenario/index.js";
import { adminCall } from "./admin-call.js";
import type { ControlPlaneProcess } from "./control-plane.js";

type FaultEntry = Extract<TimelineEntry, { action: "fault" }>;

export interface FaultDriverDeps {
  /** Every control plane of the run; faults hit each one that is running. */
  readonly controlPlanes: ReadonlyMap<ControlPlaneName, ControlPlaneProcess>;
  readonly onNote: (text: string) => void;
}

/**
 * The timeline's faults, through each control plane's `/v1/faults`. Steps
 * take effect one after another, in the order they were asked for, even when
 * the timeline gives them the same time: a config-loss must reach clients
 * before a stream-error cuts their streams. A control plane that is down is
 * skipped, with a note (faults do not outlive a restart anyway).
 */
export function createFaultDriver(deps: FaultDriverDeps) {
  let queue: Promise<void> = Promise.resolve();

  function runningPlanes(what: string): ControlPlaneProcess[] {
    const planes = [...deps.controlPlanes.values()];
    for (const plane of planes) if (!plane.running()) deps.onNote(`${what}: control plane ${plane.name} is down, skipped`);
    return planes.filter((plane) => plane.running());
  }

  /** Runs `step` after every step queued before it; a failed step does not stop later ones (its caller reports it). */
  function inOrder(step: () => Promise<void>): Promise<void> {
    const run = queue.then(step);
    queue = run.catch(() => undefined);
    return run;
  }

  return {
    /** Injects the entry's fault on every running control plane; resolves once all have it. */
    inject(entry: FaultEntry): Promise<void> {
      const body = { kind: entry.kind, layer: entry.layer, services: entry.services, ...(entry.status && { status: entry.status }) };
      return inOrder(async () => {
        await Promise.all(runningPlanes(`fault ${entry.kind}`).map((plane) => adminCall(plane, "POST", "/v1/faults", body)));
      });
    },
    /** Deletes the faults of `kind` (every fault when undefined) on every running control plane. */
    clear(kind: string | undefined): Promise<void> {
      return inOrder(async () => {
        await Promise.all(
          runningPlanes("clear-fault").map(async (plane) => {
            const { faults } = (await adminCall(plane, "GET", "/v1/faults")) as { faults: Array<{ id: string; kind: string }> };
            for (const f of faults) if (!kind || f.kind === kind) await adminCall(plane, "DELETE", `/v1/faults/${f.id}`);
          }),
        );
      });
    },
  };
}
