import type { EndpointDiff, GenerationDiff, HistorySample } from "./types.js";

/**
 * Text the console shows, kept free of DOM use so the node test runner can
 * test it (test/unit/ui-format.test.ts).
 */

const TYPE_ORDER = ["LDS", "RDS", "CDS", "EDS"];

/**
 * One line per service whose endpoints change ("greeter 10 → 1 endpoints"),
 * then one per resource type with additions, removals or changes
 * ("CDS: 1 added, 2 removed"), then the services whose policy changed. The
 * confirmation dialog restates exactly these lines.
 */
export function diffSummary(diff: GenerationDiff | undefined): string[] {
  if (!diff) return [];
  const lines: string[] = [];
  const endpoints = Object.entries(diff.endpoints ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [service, change] of endpoints) lines.push(endpointLine(service, change));
  const types = Object.keys(diff.types ?? {}).sort((a, b) => typeRank(a) - typeRank(b));
  for (const type of types) {
    const change = diff.types[type];
    if (!change) continue;
    const parts = [counted(change.added.length, "added"), counted(change.removed.length, "removed"), counted(change.changed.length, "changed")].filter((p) => p !== "");
    if (parts.length > 0) lines.push(`${type}: ${parts.join(", ")}`);
  }
  if (diff.policies && diff.policies.length > 0) lines.push(`policy changed: ${diff.policies.join(", ")}`);
  return lines;
}

export function endpointLine(service: string, change: EndpointDiff): string {
  // Always "endpoints", as the issue words it ("greeter 10 → 1 endpoints"): the unit is the count's, not one endpoint.
  return `${service} ${change.before} → ${change.after} endpoints`;
}

function counted(n: number, what: string): string {
  return n === 0 ? "" : `${n} ${what}`;
}

function typeRank(type: string): number {
  const i = TYPE_ORDER.indexOf(type);
  return i === -1 ? TYPE_ORDER.length : i;
}

/** "3 services match" / "1 service matches"; the number without separators, as tests and screen readers read it. */
export function matchLine(n: number): string {
  return n === 1 ? "1 service matches" : `${n.toLocaleString("en-US")} services match`;
}

/** A time as the tables show it: local, to the second; the raw text when it is not a date. */
export function shortTime(iso: string | undefined | null): string {
  if (!iso) return "–";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `key=value` pairs, sorted, comma-separated; "–" for none. */
export function metadataLine(metadata: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? "–" : entries.map(([k, v]) => `${k}=${v}`).join(", ");
}

/** "zone / region", or whichever is set, or "–". */
export function localityLine(zone: string, region: string): string {
  const parts = [zone, region].filter((p) => p !== "");
  return parts.length === 0 ? "–" : parts.join(" / ");
}

/** The chart's text alternative: the newest sample's counts and how many samples there are. */
export function historySummary(service: string, samples: readonly HistorySample[]): string {
  const last = samples[samples.length - 1];
  if (!last) return `No instance history for ${service} yet.`;
  return `Instances of ${service} over time, ${samples.length} ${samples.length === 1 ? "sample" : "samples"}; now ${last.healthy} healthy, ${last.unhealthy} unhealthy, ${last.draining} draining.`;
}

/**
 * Cumulative ACK curve: x = ms since push (ascending), y = streams ACKed by
 * then, starting from (0, 0) at the push; acks without a finite `ms` (no
 * push time known) are left out.
 */
export function ackCurve(acks: readonly { readonly ms: number }[]): [number[], number[]] {
  const ms = acks.map((a) => a.ms).filter((m) => Number.isFinite(m) && m >= 0).sort((a, b) => a - b);
  if (ms.length === 0) return [[], []];
  return [[0, ...ms], [0, ...ms.map((_m, i) => i + 1)]];
}

/** The ACK chart's text alternative. */
export function ackSummary(id: number, acked: number, clients: number, acks: readonly { readonly ms: number }[]): string {
  const [ms] = ackCurve(acks);
  const slowest = ms.length > 1 ? ms[ms.length - 1] : undefined;
  const timing = slowest === undefined ? "no ACK timings" : `the last after ${Math.round(slowest)} ms`;
  return `Generation ${id}: ${acked} of ${clients} connected ${clients === 1 ? "stream" : "streams"} ACKed, ${timing}.`;
}

/** A policy document as indented YAML-like text (keys, nested objects, lists); no YAML library in the bundle. */
export function yamlish(value: unknown, indent = ""): string {
  if (value === null || typeof value !== "object") return `${indent}${scalar(value)}`;
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === "object") lines.push(`${indent}-\n${yamlish(item, indent + "  ")}`);
      else lines.push(`${indent}- ${scalar(item)}`);
    }
    return lines.length === 0 ? `${indent}[]` : lines.join("\n");
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (item !== null && typeof item === "object") lines.push(`${indent}${key}:\n${yamlish(item, indent + "  ")}`);
    else lines.push(`${indent}${key}: ${scalar(item)}`);
  }
  return lines.length === 0 ? `${indent}{}` : lines.join("\n");
}

function scalar(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "null";
}

/** The health states whose instances are sent to clients (EDS); `unhealthy` and `draining` ones are left out. */
const SERVED = new Set(["healthy", "unknown"]);

/** How many of these instances clients are sent. */
export function servedCount(instances: readonly { readonly id: string; readonly health: string }[]): number {
  return instances.filter((i) => SERVED.has(i.health)).length;
}

/**
 * What draining, undraining or removing one instance does to what clients
 * are sent, as the confirmation restates it: "greeter 10 → 9 endpoints".
 */
export function instanceActionLine(service: string, instances: readonly { readonly id: string; readonly health: string }[], id: string, action: "drain" | "undrain" | "remove"): string {
  const before = servedCount(instances);
  const target = instances.find((i) => i.id === id);
  const servedNow = target !== undefined && SERVED.has(target.health);
  const after = action === "undrain" ? before + (servedNow ? 0 : 1) : before - (servedNow ? 1 : 0);
  return endpointLine(service, { before, after });
}
