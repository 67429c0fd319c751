import { formatClock, plannedDisruptions, type DiscoveryMode, type Scenario, type TimelineEntry } from "../scenario/index.js";
import type { CohortStory, FaultWindow, ReportStory, StoryEvent } from "./model.js";

/** What each discovery mode is, in one or two sentences, for the report. */
const DISCOVERY_TEXT: Readonly<Record<DiscoveryMode, string>> = {
  "xds-default": "Stock @grpc/grpc-js-xds with a default bootstrap (xds:///login), left alone.",
  "xds-remediated": "Stock @grpc/grpc-js-xds, until people move it to another discovery path by a rolling restart.",
  "xds-ignore-deletion": "Stock @grpc/grpc-js-xds with the ignore_resource_deletion server feature (gRFC A53).",
  steady: "steadymesh's steady: resolver: live xDS, then the last-known-good endpoints on disk, then DNS SRV.",
  dns: "DNS discovery only, from steadymesh's DNS server.",
};

/**
 * The report's story for a run of `scenario` at `speed`: its description,
 * sources and timeline (times in real ms at that speed), and per cohort its
 * discovery mode and explanation. `observations` adds what the run itself
 * saw, per cohort (e.g. "3 gateways started cold during the fault").
 */
export function storyFromScenario(scenario: Scenario, speed: number, observations: Readonly<Record<string, string>> = {}): ReportStory {
  const cohorts: Record<string, CohortStory> = {};
  for (const cohort of scenario.cohorts) {
    cohorts[cohort.name] = {
      discovery: cohort.discovery,
      discoveryText: DISCOVERY_TEXT[cohort.discovery],
      explanation: cohort.explain ?? "",
      observed: observations[cohort.name] ?? "",
    };
  }
  return {
    description: scenario.description,
    startOfDaySec: scenario.startOfDaySec,
    timeline: scenario.timeline.map((entry) => storyEvent(entry, scenario.startOfDaySec, speed)),
    sources: scenario.sources,
    cohorts,
  };
}

/** The fault windows the timeline plans, in real ms at `speed`; a runner that measures its own passes those instead. */
export function plannedFaultWindows(scenario: Scenario, speed: number): FaultWindow[] {
  return plannedDisruptions(scenario).map((d) => ({
    kind: d.kind,
    services: d.services,
    startMs: toMs(d.startSec, speed),
    endMs: toMs(d.endSec, speed),
  }));
}

function storyEvent(entry: TimelineEntry, startOfDaySec: number, speed: number): StoryEvent {
  const until = entry.action === "remediate" && entry.untilSec !== undefined ? { untilMs: toMs(entry.untilSec, speed) } : {};
  return { atMs: toMs(entry.atSec, speed), clock: entry.clock, action: entry.action, what: describe(entry, startOfDaySec), note: entry.note ?? "", ...until };
}

function toMs(scenarioSec: number, speed: number): number {
  return Math.round((scenarioSec * 1000) / speed);
}

/** What the lab does at a timeline entry, in a few words. */
export function describe(entry: TimelineEntry, startOfDaySec: number): string {
  switch (entry.action) {
    case "fault": {
      const target = entry.services.length > 0 ? `on ${entry.services.join(", ")}` : "on every ADS stream";
      return `fault: ${entry.kind}${entry.status ? ` ${entry.status}` : ""} ${target}`;
    }
    case "clear-fault":
      return entry.kind ? `fault cleared: ${entry.kind}` : "every fault cleared";
    case "remediate": {
      const until = entry.untilSec === undefined ? "at once" : `by a rolling restart until ${formatClock(startOfDaySec + entry.untilSec)}`;
      return `${entry.cohort} moved to ${entry.to} discovery ${until}`;
    }
    case "kill":
      return `control plane ${entry.controlPlane} killed (SIGKILL)`;
    case "restart":
      return entry.controlPlane !== undefined ? `control plane ${entry.controlPlane} started again` : `gateways of ${(entry.cohorts ?? []).join(", ")} restarted`;
    case "stop-dns":
      return "DNS server stopped";
    case "start-dns":
      return "DNS server started again";
    case "note":
      return "";
  }
}
