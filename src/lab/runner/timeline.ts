import type { ControlPlaneProcess } from "./control-plane.js";
import type { DnsRelay } from "./dns-relay.js";
import type { GatewayFleet } from "./fleet.js";
import type { FaultWindow } from "../report/index.js";
import type { DiscoveryMode, TimelineEntry } from "../scenario/index.js";

export interface TimelineDeps {
  readonly controlPlane: ControlPlaneProcess;
  readonly dns: DnsRelay;
  readonly fleets: ReadonlyMap<string, GatewayFleet>;
  readonly speed: number;
  /** Real ms since time 0. */
  readonly now: () => number;
  readonly later: (ms: number, fn: () => void) => void;
  readonly onNote: (text: string) => void;
}

/** Applies timeline entries and keeps the fault windows as they really happened. */
export function createTimelineActor(deps: TimelineDeps) {
  const windows: Array<{ kind: string; services: readonly string[]; startMs: number; endMs?: number; faultId?: string }> = [];

  async function adminCall(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(deps.controlPlane.adminUrl + path, {
      method,
      signal: AbortSignal.timeout(5000),
      ...(body !== undefined && { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const json = (await res.json()) as { error?: string };
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.error ?? ""}`);
    return json;
  }

  function close(kind: string | undefined): void {
    for (const w of windows) if (w.endMs === undefined && (kind === undefined || w.kind === kind)) w.endMs = deps.now();
  }

  async function apply(entry: TimelineEntry): Promise<void> {
    switch (entry.action) {
      case "fault": {
        const body = { kind: entry.kind, services: entry.services, ...(entry.status && { status: entry.status }) };
        const { fault } = (await adminCall("POST", "/v1/faults", body)) as { fault: { id: string } };
        windows.push({ kind: entry.kind, services: entry.services, startMs: deps.now(), faultId: fault.id });
        return;
      }
      case "clear-fault": {
        const { faults } = (await adminCall("GET", "/v1/faults")) as { faults: Array<{ id: string; kind: string }> };
        for (const f of faults) if (!entry.kind || f.kind === entry.kind) await adminCall("DELETE", `/v1/faults/${f.id}`);
        close(entry.kind);
        return;
      }
      case "remediate":
        return remediate(entry.cohort, entry.to, entry.untilSec === undefined ? 0 : ((entry.untilSec - entry.atSec) * 1000) / deps.speed);
      case "kill":
        await deps.controlPlane.kill();
        windows.push({ kind: "control-plane-down", services: [], startMs: deps.now() });
        return;
      case "restart":
        if (entry.cohorts) {
          await Promise.all(entry.cohorts.map((c) => restartAll(c)));
          return;
        }
        await deps.controlPlane.restart();
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

  async function restartAll(cohort: string): Promise<void> {
    const fleet = deps.fleets.get(cohort)!;
    await Promise.all(Array.from({ length: fleet.size() }, (_, slot) => fleet.restart(slot)));
  }

  return {
    apply,
    /** The windows so far, open ones ending at `endMs`. */
    windows(endMs: number): FaultWindow[] {
      return windows.map((w) => ({ kind: w.kind, services: [...w.services], startMs: w.startMs, endMs: w.endMs ?? endMs }));
    },
    active(): string[] {
      return windows.filter((w) => w.endMs === undefined).map((w) => `${w.kind}${w.services.length ? `(${w.services.join(",")})` : ""}`);
    },
  };
}
