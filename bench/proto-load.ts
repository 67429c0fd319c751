/**
 * How long loadCodec() takes (parsing the envoy protos), and how fast a
 * snapshot of many services builds cold and after a one-instance change.
 * Run: node --import tsx bench/proto-load.ts   → bench/results/proto-load.json
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadCodec } from "../src/proto/index.js";
import type { Instance, RegistryView, ServiceEntry } from "../src/registry/index.js";
import { buildSnapshot, createBuildCache } from "../src/snapshot/index.js";

const RUNS = 5;
const SERVICES = 1000;
const INSTANCES_PER_SERVICE = 10;

function timeMs(run: () => unknown): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

function serviceEntry(name: string, weight: number): ServiceEntry {
  const instances = Array.from({ length: INSTANCES_PER_SERVICE }, (_, i): Instance => ({
    service: name, id: `i-${i}`, address: `10.${i}.0.1`, port: 8080, zone: `z${i % 3}`, region: "r1",
    weight: i === 0 ? weight : 1, health: "healthy", metadata: {},
  }));
  return { service: { name, protocol: "grpc", lbPolicy: "round_robin", metadata: {} }, instances: new Map(instances.map((i) => [i.id, i])) };
}

const loadMs = Array.from({ length: RUNS }, () => timeMs(() => loadCodec())).sort((a, b) => a - b);
const codec = loadCodec();
const entries = new Map(Array.from({ length: SERVICES }, (_, i) => [`svc-${i}`, serviceEntry(`svc-${i}`, 1)]));
const first: RegistryView = { revision: 1, services: entries };
const cache = createBuildCache();
const coldBuildMs = timeMs(() => buildSnapshot(first, codec, cache));
const changed: RegistryView = { revision: 2, services: new Map(entries).set("svc-0", serviceEntry("svc-0", 5)) };
const incrementalBuildMs = timeMs(() => buildSnapshot(changed, codec, cache));

const result = {
  node: process.version,
  loadCodecMs: { min: loadMs[0], median: loadMs[Math.floor(RUNS / 2)], max: loadMs[RUNS - 1] },
  services: SERVICES,
  instancesPerService: INSTANCES_PER_SERVICE,
  coldBuildMs,
  incrementalBuildMs,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/proto-load.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
