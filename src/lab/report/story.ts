import type { PolicyRoute, TrafficPolicy } from "../../registry/index.js";
import { formatClock, plannedDisruptions, type ControlPlaneName, type DiscoveryMode, type Scenario, type TimelineEntry } from "../scenario/index.js";
import type { CohortStory, FaultWindow, ReportStory, ScheduledRestarts, StoryEvent } from "./model.js";

/** What each discovery mode is, in one or two sentences, for the report. */
const DISCOVERY_TEXT: Readonly<Record<DiscoveryMode, string>> = {
  "xds-default": "Stock @grpc/grpc-js-xds with a default bootstrap (xds:///login), left alone.",
  "xds-remediated": "Stock @grpc/grpc-js-xds, until people move it to another discovery path by a rolling restart.",
  "xds-ignore-deletion": "Stock @grpc/grpc-js-xds with the ignore_resource_deletion server feature (gRFC A53).",
  steady: "steadymesh's steady: resolver: live xDS, then the last-known-good endpoints on disk, then DNS SRV.",
  dns: "DNS discovery only, from steadymesh's DNS server.",
  "xds-dns-fallback":
    "Stock @grpc/grpc-js-xds with a default bootstrap (xds:///login); its service's dnsFallback policy makes login's Cluster an aggregate of [EDS, LOGICAL_DNS] (gRFC A37). The lab models the host's resolver forwarding .mesh to steadymesh's DNS, and the DNS name is a login load balancer in front of the login instances.",
};

/** What each lab control plane is, for a cohort's description. */
const CONTROL_PLANE_TEXT: Readonly<Record<ControlPlaneName, string>> = {
  primary: "Its control plane runs without the push guard's holds (serve --no-guard), like an xDS control plane that pushes whatever its config pipeline produces.",
  guarded: "Its control plane runs the push guard with its default thresholds: a generation that removes more than half of the Listeners or Clusters, or more than half of a service's endpoints, or leaves a service with none, is held, and clients keep the last pushed one.",
  "guarded-2": "Its control plane is a second one that runs the push guard (so that its policies do not reach the guarded plane's clients) with its default thresholds: a generation that removes more than half of the Listeners or Clusters, or more than half of a service's endpoints, or leaves a service with none, is held, and clients keep the last pushed one.",
};

/**
 * The report's story for a run of `scenario` at `speed`: its description,
 * sources and timeline (times in real ms at that speed), and per cohort its
 * discovery mode, control plane and explanation. A cohort's control plane is
 * described only when the scenario has more than one. `controlPlanes` says
 * what each control plane did in the run (see ReportStory). `observations` adds what the run itself
 * saw, per cohort (e.g. "3 gateways started cold during the fault").
 */
export function storyFromScenario(
  scenario: Scenario,
  speed: number,
  observations: Readonly<Record<string, string>> = {},
  controlPlanes: Readonly<Record<string, string>> = {},
): ReportStory {
  const cohorts: Record<string, CohortStory> = {};
  const planes = scenario.topology.controlPlanes.length > 1;
  for (const cohort of scenario.cohorts) {
    cohorts[cohort.name] = {
      discovery: cohort.discovery,
      controlPlane: cohort.controlPlane,
      discoveryText: planes && cohort.discovery !== "dns" ? `${DISCOVERY_TEXT[cohort.discovery]} ${CONTROL_PLANE_TEXT[cohort.controlPlane]}` : DISCOVERY_TEXT[cohort.discovery],
      explanation: cohort.explain ?? "",
      observed: observations[cohort.name] ?? "",
    };
  }
  return {
    description: scenario.description,
    startOfDaySec: scenario.startOfDaySec,
    timeline: scenario.timeline.map((entry) => storyEvent(entry, scenario, speed)),
    scheduledRestarts: scheduledRestarts(scenario, speed),
    sources: scenario.sources,
    cohorts,
    controlPlanes: { ...controlPlanes },
  };
}

/** The fault windows the timeline plans, in real ms at `speed`; a runner that measures its own passes those instead. */
export function plannedFaultWindows(scenario: Scenario, speed: number): FaultWindow[] {
  return plannedDisruptions(scenario).map((d) => ({
    kind: d.kind,
    services: d.services,
    ...(d.layer !== undefined && { layer: d.layer }),
    startMs: toMs(d.startSec, speed),
    endMs: toMs(d.endSec, speed),
  }));
}

/**
 * The rounds of the workload's restarts, as the runner schedules them: every
 * `everySec` real seconds from the first, while the run lasts.
 */
function scheduledRestarts(scenario: Scenario, speed: number): ScheduledRestarts {
  const plan = scenario.workload.restarts;
  const cohorts = scenario.cohorts.filter((c) => c.scheduledRestarts).map((c) => c.name);
  if (!plan || cohorts.length === 0) return { atMs: [], share: 0, cohorts: [] };
  const durationMs = toMs(scenario.durationSec, speed);
  const atMs: number[] = [];
  for (let at = plan.everySec * 1000; at < durationMs; at += plan.everySec * 1000) atMs.push(at);
  return { atMs, share: plan.share, cohorts };
}

function storyEvent(entry: TimelineEntry, scenario: Scenario, speed: number): StoryEvent {
  const until = entry.action === "remediate" && entry.untilSec !== undefined ? { untilMs: toMs(entry.untilSec, speed) } : {};
  const what = describe(entry, scenario.startOfDaySec, scenario.topology.controlPlanes.length);
  const label = chartLabel(entry);
  return { atMs: toMs(entry.atSec, speed), clock: entry.clock, action: entry.action, what, note: entry.note ?? "", ...until, ...(label !== undefined && { label }) };
}

function toMs(scenarioSec: number, speed: number): number {
  return Math.round((scenarioSec * 1000) / speed);
}

/** What the lab does at a timeline entry, in a few words; `planes` is how many control planes the run has. */
export function describe(entry: TimelineEntry, startOfDaySec: number, planes = 1): string {
  switch (entry.action) {
    case "fault": {
      const target = entry.services.length > 0 ? `on ${entry.services.join(", ")}` : "on every ADS stream";
      const layer = entry.layer === "pipeline" ? ", in the config pipeline (above the push guard)" : planes > 1 ? ", in what the xDS server sends (below the push guard)" : "";
      return `fault: ${entry.kind}${entry.status ? ` ${entry.status}` : ""} ${target}${layer}${planes > 1 ? ", on both control planes" : ""}`;
    }
    case "clear-fault":
      return entry.kind ? `fault cleared: ${entry.kind}` : "every fault cleared";
    case "remediate": {
      const until = entry.untilSec === undefined ? "at once" : `by a rolling restart until ${formatClock(startOfDaySec + entry.untilSec)}`;
      return `${entry.cohort} moved to ${entry.to} discovery ${until}`;
    }
    case "kill":
      return `control plane ${entry.controlPlane} killed (SIGKILL)`;
    case "restart": {
      if (entry.controlPlane !== undefined) return `control plane ${entry.controlPlane} started again`;
      const which = entry.gateways === undefined ? "gateways" : entry.gateways === 1 ? "1 gateway" : `${entry.gateways} gateways`;
      return `${which} of ${(entry.cohorts ?? []).join(", ")} restarted`;
    }
    case "stop-dns":
      return "DNS server stopped";
    case "start-dns":
      return "DNS server started again";
    case "policy":
      return `traffic policy of ${entry.service} set${planes > 1 ? " on both control planes" : ""}: ${describePolicy(entry.policy)}`;
    case "clear-policy":
      return `traffic policy of ${entry.service} deleted: every instance serves every call`;
    case "note":
      return "";
  }
}

/** `/steadymesh.demo.Login/* → v1 95%, v2 5%`, one part per route, then the implied catch-all unless a route already takes every call. */
function describePolicy(policy: TrafficPolicy): string {
  const routes = policy.routes.map((route) => `${describeMatch(route)} → ${route.to.map((t) => `${t.subset} ${t.weight}%`).join(", ")}`);
  return [...routes, ...(policy.routes.some(takesEveryCall) ? [] : ["any other call → every instance"])].join("; ");
}

/** A route with no header rule and no path rule narrower than `/`: no call gets past it. */
function takesEveryCall(route: PolicyRoute): boolean {
  const { method, prefix, headers } = route.match;
  return method === undefined && (prefix === undefined || prefix === "/") && Object.keys(headers ?? {}).length === 0;
}

function describeMatch(route: PolicyRoute): string {
  const { method, prefix, headers } = route.match;
  const path = method ?? (prefix === undefined || prefix === "/" ? "every call" : `${prefix}*`);
  const names = Object.keys(headers ?? {});
  return names.length === 0 ? path : `${path} with header ${names.join(", ")}`;
}

/** Routes a chart label spells out; more are counted. */
const LABELLED_ROUTES = 2;

/**
 * The few words the chart writes at a policy entry: `policy login: v1 95 / v2 5`,
 * a route that takes only some calls led by its path (`/pkg.Svc/*: v2 100`).
 * Undefined for entries the story's `what` labels well enough.
 */
function chartLabel(entry: TimelineEntry): string | undefined {
  if (entry.action === "clear-policy") return `policy ${entry.service} deleted`;
  if (entry.action !== "policy") return undefined;
  const routes = entry.policy.routes;
  const fallback = entry.policy.dnsFallback;
  const extras = fallback ? [`DNS fallback ${fallback.name ?? "(own name)"}:${fallback.port}`] : [];
  if (routes.length === 0) return `policy ${entry.service}: ${extras[0] ?? (entry.policy.subsets.length > 0 ? "subsets only" : "cluster settings")}`;
  const parts = routes.slice(0, LABELLED_ROUTES).map((route) => {
    const split = route.to.map((t) => `${t.subset} ${t.weight}`).join(" / ");
    return takesEveryCall(route) ? split : `${describeMatch(route)}: ${split}`;
  });
  const more = routes.length - LABELLED_ROUTES;
  return `policy ${entry.service}: ${parts.join("; ")}${more > 0 ? ` (+${more} route${more === 1 ? "" : "s"})` : ""}`;
}
