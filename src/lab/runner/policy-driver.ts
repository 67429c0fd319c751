import type { ControlPlaneName, TimelineEntry } from "../scenario/index.js";
import { adminCall } from "./admin-call.js";
import type { ControlPlaneProcess } from "./control-plane.js";

type PolicyEntry = Extract<TimelineEntry, { action: "policy" }>;

export interface PolicyDriverDeps {
  /** Every control plane of the run; a policy goes to each one that is running. */
  readonly controlPlanes: ReadonlyMap<ControlPlaneName, ControlPlaneProcess>;
  readonly onNote: (text: string) => void;
}

/**
 * The timeline's traffic policies, through each control plane's admin API:
 * `PUT /v1/services/{service}/policy` with `{ subsets, routes }`, and
 * `DELETE` of the same path. A control plane that is down is skipped, with a
 * note: its registry keeps what it had, and a later policy entry reaches it
 * once it runs again.
 */
export function createPolicyDriver(deps: PolicyDriverDeps) {
  function runningPlanes(what: string): ControlPlaneProcess[] {
    const planes = [...deps.controlPlanes.values()];
    for (const plane of planes) if (!plane.running()) deps.onNote(`${what}: control plane ${plane.name} is down, skipped`);
    return planes.filter((plane) => plane.running());
  }
  const path = (service: string) => `/v1/services/${encodeURIComponent(service)}/policy`;

  return {
    /** Sets the entry's policy on every running control plane; resolves once each has accepted it. */
    async apply(entry: PolicyEntry): Promise<void> {
      const body = { subsets: entry.policy.subsets, routes: entry.policy.routes };
      await Promise.all(runningPlanes(`policy of ${entry.service}`).map((plane) => adminCall(plane, "PUT", path(entry.service), body)));
    },
    /** Deletes `service`'s policy on every running control plane. */
    async clear(service: string): Promise<void> {
      await Promise.all(runningPlanes(`clear-policy of ${service}`).map((plane) => adminCall(plane, "DELETE", path(service))));
    },
  };
}
