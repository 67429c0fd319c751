/**
 * `memory`: server RSS and V8 heap per idle connected client, at 1,000 and
 * 5,000 clients (quick: 100).
 *
 * How: the fleet run that `propagation` uses (bench/xds/fleet.ts; memoised, so
 * the clients connect once): the server child (real control plane, 1,000
 * services × 10 endpoints, snapshot built) reports process.memoryUsage() after
 * two forced GCs (--expose-gc) before any client connects, and again after N
 * raw Delta clients (one HTTP/2 connection each, 10 EDS names each) have
 * synced, ACKed and sat idle for a few seconds, before any change is timed.
 * Per client = (with N − with 0) / N. The totals are rows of their own, with
 * the server at 0 clients as their baseline.
 */
import type { BenchRow, BenchSection } from "./section.js";
import { fleetResults } from "./xds/fleet.js";

const KB = 1024;
const MB = 1024 * 1024;
const round1 = (x: number) => Math.round(x * 10) / 10;

export const memory: BenchSection = async (context) => {
  const fleet = await fleetResults(context);
  const sizes = context.quick ? [100] : [1000, 5000];
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = {};
  for (const n of sizes) {
    const run = fleet.runs.find((r) => r.clients === n);
    if (!run) {
      rows.push({ metric: `RSS per idle client @ ${n}`, value: "n/a", unit: "KB", goal: "≤ 20 KB" });
      rows.push({ metric: `heap per idle client @ ${n}`, value: "n/a", unit: "KB" });
      continue;
    }
    const { idle0, idleN } = run.memory;
    const rssPer = round1((idleN.rss - idle0.rss) / n / KB);
    const heapPer = round1((idleN.heapUsed - idle0.heapUsed) / n / KB);
    const externalPer = round1((idleN.external + idleN.arrayBuffers - idle0.external - idle0.arrayBuffers) / n / KB);
    rows.push({ metric: `RSS per idle client @ ${n}`, value: rssPer, unit: "KB", goal: "≤ 20 KB", met: rssPer <= 20 });
    rows.push({ metric: `heap per idle client @ ${n}`, value: heapPer, unit: "KB", goal: "≤ 20 KB", met: heapPer <= 20 });
    rows.push({ metric: `server RSS with ${n} idle clients`, value: round1(idleN.rss / MB), unit: "MB", baseline: { name: "with 0 clients", value: round1(idle0.rss / MB) } });
    rows.push({ metric: `server heap used with ${n} idle clients`, value: round1(idleN.heapUsed / MB), unit: "MB", baseline: { name: "with 0 clients", value: round1(idle0.heapUsed / MB) } });
    details[`clients${n}`] = { idle0, idleN, rssPerClientKB: rssPer, heapUsedPerClientKB: heapPer, externalPerClientKB: externalPer, rssTotalMB: round1(idleN.rss / MB) };
  }
  return {
    name: "memory",
    rows,
    details,
    notes: [
      "Measured in the propagation fleet run, while the clients are idle (synced and ACKed, before any change is timed); memoryUsage() after two forced GCs in the server process.",
      "Each client is one HTTP/2 connection with one Delta stream subscribed to 10 EDS names; the figure covers grpc-js's connection and stream state and the control plane's per-stream state. RSS also holds memory the allocator has not returned to the OS, so it is noisier than the heap.",
      ...fleet.failures.map((f) => `N = ${f.clients} failed: ${f.error}`),
    ],
  };
};
