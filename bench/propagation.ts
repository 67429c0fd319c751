/**
 * `propagation`: how long one endpoint change takes to reach every connected
 * client, against the "write the same bytes N times on the same sockets"
 * lower bound, measured in the same run on the same streams.
 *
 * How: a server child process runs the real control plane (sqlite store,
 * push guard on, push quiet period 0 ms) with 1,000 services × 10 endpoints
 * (quick: 100 × 10). N = 100, 1,000, 5,000 clients (quick: 100) are raw Delta
 * ADS streams in separate worker processes, one HTTP/2 connection each, each
 * subscribed to the EDS resources of 10 services including svc-0, ACKing
 * every response. Once all are synced: the parent changes svc-0's instance
 * i-0 (its weight) through the admin API (t0 is taken just before the PUT),
 * and each client records when the update arrives. Then the server child
 * writes the bytes of that same update (a new nonce), encoded once, to every
 * Delta stream with broadcastEncoded (bench/xds/broadcast.ts; t0 just before the writes):
 * the lower bound. One warm-up round, then 3 rounds of each, alternating;
 * percentiles are over the pooled samples of the 3 rounds (per-round figures
 * are in the details). Arrival times are wall-clock (performance.timeOrigin +
 * now()) compared across processes on one machine.
 */
import type { BenchRow, BenchSection } from "./section.js";
import { fleetResults } from "./xds/fleet.js";

const GOALS: Record<number, number> = { 1000: 100, 5000: 1000 };

export const propagation: BenchSection = async (context) => {
  const fleet = await fleetResults(context);
  const rows: BenchRow[] = [];
  for (const run of fleet.runs) {
    const n = run.clients;
    for (const key of ["p50", "p99", "max"] as const) {
      const goalMs = key === "p99" ? GOALS[n] : undefined;
      rows.push({
        metric: `${key} @ ${n} clients`,
        value: run.change[key],
        unit: "ms",
        baseline: { name: "lower bound (same bytes, N writes)", value: run.bound[key] },
        ...(goalMs !== undefined && { goal: `≤ ${goalMs} ms`, met: run.change.missing === 0 && run.change[key] <= goalMs }),
      });
    }
    const ratio = run.bound.p99 > 0 ? Math.round((run.change.p99 / run.bound.p99) * 100) / 100 : Number.NaN;
    rows.push({
      metric: `p99 ÷ lower bound p99 @ ${n} clients`,
      value: Number.isFinite(ratio) ? ratio : "n/a",
      unit: "×",
      goal: "≤ 3×",
      ...(Number.isFinite(ratio) && { met: ratio <= 3 }),
    });
  }
  for (const failure of fleet.failures) {
    rows.push({ metric: `p99 @ ${failure.clients} clients`, value: "n/a", unit: "ms", ...(GOALS[failure.clients] !== undefined && { goal: `≤ ${GOALS[failure.clients]} ms` }) });
  }
  const notes = [
    "Each client models a gRPC client depending on 10 services: a Delta EDS subscription by name to svc-0 and 9 others (a wildcard subscription to all 10,000 endpoints per client would make the initial sync 5,000 × ~0.3 MB).",
    "The server runs with a push quiet period of 0 ms; production's default is 100 ms (--push-min-delay-ms), which adds to every figure here (Istio debounces the same way, ≥ 100 ms).",
    "The change goes through the real path: admin API PUT → sqlite store → registry → snapshot build → push guard (on, which records each generation) → snapshot cache → Delta streams. t0 is taken in the bench parent just before the PUT, so the HTTP round trip is included (putMs per round in the details).",
    "Lower bound: the same update's bytes (re-encoded once with a new nonce) written to every Delta stream by broadcastEncoded (bench/xds/broadcast.ts, the server's stream gate), t0 taken in the server process just before the writes; clients time it exactly like the real update.",
    "Percentiles pool the samples of 3 rounds (N × 3 samples) after one unrecorded warm-up round; clients run in 1 process for N < 1000, else ⌈N/1000⌉ (2..5) processes, sharing the 2 cores with the server.",
    ...fleet.failures.map((f) => `N = ${f.clients} failed: ${f.error}`),
  ];
  return {
    name: "propagation",
    rows,
    details: {
      settings: fleet.settings,
      runs: fleet.runs.map(({ memory: _memory, ...rest }) => rest),
      failures: fleet.failures,
    },
    notes,
  };
};
