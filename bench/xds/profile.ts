/**
 * Where the server's time goes during propagation: one fleet run with N
 * clients (default 1,000; full-size registry, 5 timed rounds) and a V8 CPU
 * profile of the server child over the timed rounds only, written to DIR.
 *   node --import tsx bench/xds/profile.ts [N] [DIR]
 * Open the .cpuprofile in Chrome DevTools (Performance → Load profile).
 */
import { mkdirSync } from "node:fs";
import { fleetSettings, runFleet } from "./fleet.js";

const n = Number(process.argv[2] ?? 1000);
const dir = process.argv[3] ?? "bench/results";
mkdirSync(dir, { recursive: true });
process.env.BENCH_SERVER_CPU_PROF = dir;
const run = await runFleet(n, { ...fleetSettings(false), rounds: 5 }, (line) => console.error(line));
console.log(JSON.stringify({ clients: n, change: run.change, bound: run.bound }));
