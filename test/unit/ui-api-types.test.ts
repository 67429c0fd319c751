import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceJson } from "../../src/admin/index.js";
import type { LabReport as ServerLabReport } from "../../src/admin/lab-report-routes.js";
import type { HealthCounts as ServerHealthCounts, HistorySample as ServerHistorySample } from "../../src/events/service-stats.js";
import type { Generation as ServerGeneration } from "../../src/guard/index.js";
import { HEALTH_STATES, type Instance as ServerInstance } from "../../src/registry/index.js";
import type { ClientStatus as ServerClientStatus } from "../../src/xds/index.js";
import type * as Ui from "../../ui/types.js";

/**
 * The browser app cannot import src/ (its types pull in Node's), so
 * ui/types.ts restates the API's JSON shapes. These assignments make tsc
 * (`npm test` runs it over test/) hold that copy to the server's types: a
 * field the console reads that the server renames, retypes or drops fails
 * the typecheck here. (The history route sends clock ms as ISO strings,
 * hence the one mapped sample.)
 */
type Assignable<From, To> = From extends To ? true : false;
const checks: Array<true> = [
  true satisfies Assignable<ServerInstance, Ui.Instance>,
  true satisfies Assignable<ServiceJson, Ui.ServiceDetail>,
  true satisfies Assignable<ServerClientStatus, Ui.ClientStatus>,
  true satisfies Assignable<ServerGeneration, Ui.Generation>,
  true satisfies Assignable<ServerGeneration["diff"], Ui.GenerationDiff>,
  true satisfies Assignable<ServerHealthCounts, Ui.HealthCounts>,
  true satisfies Assignable<Omit<ServerHistorySample, "at"> & { at: string }, Ui.HistorySample>,
  true satisfies Assignable<ServerLabReport, Ui.LabReport>,
  true satisfies Assignable<ServerInstance["health"], Ui.Health>,
  true satisfies Assignable<Ui.Health, ServerInstance["health"]>,
];

describe("the console's API types (ui/types.ts)", () => {
  it("restate the server's shapes (checked by tsc above) and its health states", () => {
    assert.equal(checks.length, 10);
    const uiHealth: Record<Ui.Health, true> = { healthy: true, unhealthy: true, unknown: true, draining: true };
    assert.deepEqual(Object.keys(uiHealth).sort(), [...HEALTH_STATES].sort());
  });
});
