import type { ControlPlaneName, TimelineEntry } from "../scenario/index.js";
import { policyWire } from "../../registry/index.js";
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
 * `PUT /v1/services/{service}/policy` with the policy's fields, and
 * `DELETE` of the same path. A control plane that is down is skipped, with a
 * note: its registry keeps what it had, and a later policy entry reaches it
 * once it runs again.
 */
export function createPolicyDriver(deps: PolicyDriverDeps) {
  function runningPlanes(what: string, only?: readonly ControlPlaneName[]): ControlPlaneProcess[] {
    const planes = [...deps.controlPlanes.entries()].filter(([name]) => !only || only.includes(name)).map(([, plane]) => plane);
    for (const plane of planes) if (!plane.running()) deps.onNote(`${what}: control plane ${plane.name} is down, skipped`);
    return planes.filter((plane) => plane.running());
  }
  const path = (service: string) => `/v1/services/${encodeURIComponent(service)}/policy`;

  return {
    /** Sets the entry's policy (every field) on each running control plane of its `controlPlanes` (default: all); resolves once each has accepted it. */
    async apply(entry: PolicyEntry): Promise<void> {
      const { service, ...body } = policyWire({ service: entry.service, policy: entry.policy });
      await Promise.all(runningPlanes(`policy of ${service}`, entry.controlPlanes).map((plane) => adminCall(plane, "PUT", path(service), body)));
    },
    /** Deletes `service`'s policy on every running control plane. */
    async clear(service: string): Promise<void> {
      await Promise.all(runningPlanes(`clear-policy of ${service}`).map((plane) => adminCall(plane, "DELETE", path(service))));
    },
  };
}
