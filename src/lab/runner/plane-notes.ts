import type { Generation } from "../../guard/index.js";
import type { ControlPlaneName } from "../scenario/index.js";
import type { ControlPlaneProcess } from "./control-plane.js";

/** Generations listed per control plane at most; a longer run says how many more there were. */
const MAX_LISTED = 6;

/**
 * What each control plane's push guard did during the run, in one line per
 * plane, read from its `GET /v1/generations`: every generation created after
 * time 0, with its status and, for a hold or a rejection, the guard's
 * reason. `clockAt` turns an epoch time into the scenario clock. A plane
 * that cannot be asked (it is down) gets a line that says so.
 */
export async function controlPlaneNotes(planes: ReadonlyMap<ControlPlaneName, ControlPlaneProcess>, sinceEpochMs: number, clockAt: (epochMs: number) => string): Promise<Record<string, string>> {
  const notes: Record<string, string> = {};
  for (const [name, plane] of planes) {
    const who = name === "primary" ? "The primary control plane (push guard holds off, --no-guard)" : `The ${name} control plane (push guard on, default thresholds)`;
    try {
      const generations = (await fetchGenerations(plane)).filter((g) => Date.parse(g.createdAt) >= sinceEpochMs);
      notes[name] = `${who}: ${describeGenerations(generations, clockAt)}`;
    } catch (err) {
      notes[name] = `${who}: its generations could not be read at the end of the run (${err instanceof Error ? err.message : String(err)}).`;
    }
  }
  return notes;
}

async function fetchGenerations(plane: ControlPlaneProcess): Promise<Generation[]> {
  if (!plane.running()) throw new Error("it was down");
  const res = await fetch(`${plane.adminUrl}/v1/generations`, { headers: plane.adminHeaders(), signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET /v1/generations answered ${res.status}`);
  return ((await res.json()) as { generations: Generation[] }).generations;
}

function describeGenerations(generations: readonly Generation[], clockAt: (epochMs: number) => string): string {
  if (generations.length === 0) return "no new generation during the run.";
  const listed = generations.slice(0, MAX_LISTED).map((g) => `generation ${g.id} at ${clockAt(Date.parse(g.createdAt))} ${outcome(g)}`);
  const more = generations.length > MAX_LISTED ? `; and ${generations.length - MAX_LISTED} more` : "";
  return `${listed.join("; ")}${more}.`;
}

/** `pushed, removing accounts, login`; `held (removes 2 of 3 Listeners…); clients kept generation 4 and never received this one (superseded by generation 4)`. */
function outcome(g: Generation): string {
  if (g.status === "held" || g.status === "rejected") {
    // The reason is rewritten once a generation is superseded; the first event keeps the guard's own words.
    const why = (g.history.find((e) => e.status === g.status)?.detail ?? g.reason).replace(/^(held|rejected): /, "");
    const kept = g.diff.against === undefined ? "" : `; clients kept generation ${g.diff.against}`;
    const superseded = g.supersededBy === undefined ? "" : ` and never received this one (superseded by generation ${g.supersededBy})`;
    return `${g.status} (${why})${kept}${superseded}`;
  }
  const removed = [...new Set(Object.values(g.diff.types).flatMap((t) => t.removed))];
  return removed.length > 0 ? `${g.status}, removing ${removed.join(", ")}` : g.status;
}
