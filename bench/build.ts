/**
 * `build`: how long loadCodec() takes (parsing the envoy protos; the median
 * of several runs), and how long a snapshot of 1,000 services × 10 instances
 * takes to build cold and then after a one-instance change (the build cache
 * reuses every untouched service; the median of several changes, each built
 * from the one before, as the spine builds). Measured in this process, no
 * baseline: these figures track the cost of the pipeline in front of every
 * push.
 */
import { loadCodec } from "../src/proto/index.js";
import type { Instance, RegistryView, ServiceEntry } from "../src/registry/index.js";
import { buildSnapshot, createBuildCache, type Snapshot } from "../src/snapshot/index.js";
import { median } from "./percentiles.js";
import type { BenchSection } from "./section.js";

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

export const build: BenchSection = async ({ quick, log }) => {
  const runs = quick ? 2 : 5;
  const loadMs = Array.from({ length: runs }, () => timeMs(() => loadCodec()));
  log(`loadCodec median ${median(loadMs).toFixed(0)} ms over ${runs} runs`);
  const codec = loadCodec();
  const entries = new Map(Array.from({ length: SERVICES }, (_, i) => [`svc-${i}`, serviceEntry(`svc-${i}`, 1)]));
  const cache = createBuildCache();
  let previous: Snapshot | undefined;
  const coldMs = timeMs(() => (previous = buildSnapshot({ revision: 1, services: entries } satisfies RegistryView, codec, cache).snapshot));
  // One sample right after the cold build mostly measured its garbage being collected: take the median of several.
  const changes = quick ? 5 : 21;
  let services = entries;
  const incremental = Array.from({ length: changes }, (_, k) => {
    services = new Map(services).set("svc-0", serviceEntry("svc-0", 2 + k));
    const view: RegistryView = { revision: 2 + k, services };
    return timeMs(() => (previous = buildSnapshot(view, codec, cache, previous).snapshot));
  });
  const incrementalMs = median(incremental);
  log(`snapshot build cold ${coldMs.toFixed(0)} ms, after 1 change ${incrementalMs.toFixed(1)} ms (median of ${changes})`);
  const size = `${SERVICES} services × ${INSTANCES_PER_SERVICE} instances`;
  return {
    name: "build",
    rows: [
      { metric: "loadCodec (median)", value: median(loadMs), unit: "ms" },
      { metric: `snapshot build cold, ${size}`, value: coldMs, unit: "ms" },
      { metric: `snapshot build after 1 change (median of ${changes}), ${size}`, value: incrementalMs, unit: "ms", baseline: { name: "cold", value: coldMs } },
    ],
    details: { loadCodecMs: loadMs, services: SERVICES, instancesPerService: INSTANCES_PER_SERVICE, coldBuildMs: coldMs, incrementalBuildMs: incremental },
    notes: [],
  };
};
