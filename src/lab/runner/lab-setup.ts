import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnDemo, type DemoProcess, type DemoSpawnOptions } from "../../demo/index.js";
import { DEMO_SERVICES, LOGIN_BALANCER, type ControlPlaneName, type DemoService, type Scenario } from "../scenario/index.js";
import { startControlPlaneProcess, type ControlPlaneProcess } from "./control-plane.js";
import { startDnsRelay, type DnsRelay } from "./dns-relay.js";
import { startFleet, type FleetEnvironment, type GatewayFleet } from "./fleet.js";
import { adminCall } from "./admin-call.js";
import { startLoginBalancer, type LoginBalancer } from "./login-balancer.js";
import { createStartGate, type StartGate } from "./start-gate.js";

/** Everything a run started: torn down by tearDown, whatever happened. */
export interface Lab {
  readonly workDir: string;
  /** `primary` always; `guarded` when the topology lists it. */
  readonly controlPlanes: Map<ControlPlaneName, ControlPlaneProcess>;
  /** What every lab client uses as its DNS server (in front of the primary's DNS). */
  dns?: DnsRelay;
  readonly services: DemoProcess[];
  readonly fleets: Map<string, GatewayFleet>;
  /** The login load balancer that `dnsFallback` policies name; started only when a cohort uses xds-dns-fallback. */
  balancer?: LoginBalancer;
}

/**
 * Starts the scenario's control planes (the primary with `--no-guard`, the
 * guarded one with the guard at its defaults), the DNS relay, the demo
 * services (each registered in every control plane) and then the cohorts'
 * gateways (each on its cohort's control plane). On any failure, everything
 * already started is stopped and the error is thrown.
 */
export async function setUp(scenario: Scenario): Promise<Lab> {
  const lab: Lab = { workDir: await mkdtemp(join(tmpdir(), "steadymesh-lab-")), controlPlanes: new Map(), services: [], fleets: new Map() };
  try {
    await startPlanes(lab, scenario.topology.controlPlanes);
    const primary = lab.controlPlanes.get("primary")!;
    lab.dns = await startDnsRelay(primary.dnsPort);
    const gate = createStartGate();
    await startServices(scenario, lab, primary, lab.dns, gate);
    if (usesDnsFallback(scenario)) lab.balancer = await startBalancer(lab, primary);
    const dnsPort = lab.dns.port;
    await settleAll(
      scenario.cohorts.map(async (cohort) => {
        const plane = lab.controlPlanes.get(cohort.controlPlane)!;
        const env: FleetEnvironment = { xdsPort: plane.xdsPort, dnsPort, adminUrl: plane.adminUrl, workDir: lab.workDir, gate };
        lab.fleets.set(cohort.name, await startFleet(cohort, env));
      }),
    );
    return lab;
  } catch (err) {
    await tearDown(lab);
    throw err;
  }
}

/** Starts the control planes together; `lab.controlPlanes` lists them in topology order (every one that started, even if another failed). */
async function startPlanes(lab: Lab, names: readonly ControlPlaneName[]): Promise<void> {
  const results = await Promise.allSettled(names.map((name) => startPlane(lab.workDir, name)));
  results.forEach((result, i) => {
    if (result.status === "fulfilled") lab.controlPlanes.set(names[i]!, result.value);
  });
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

async function startPlane(workDir: string, name: ControlPlaneName): Promise<ControlPlaneProcess> {
  const dataDir = join(workDir, `control-plane-${name}`);
  return startControlPlaneProcess({ name, guard: name !== "primary", dataDir });
}

/**
 * The demo services start through the gate, each registered in every control plane
 * with its topology metadata, then the canary's instances if there is one
 * (ids `<service>-canary-<i>`, the canary's metadata, failing as it says);
 * they find each other through the primary. Gateways start only once they
 * are registered, so no cohort's first lookup finds an empty registry.
 */
async function startServices(scenario: Scenario, lab: Lab, primary: ControlPlaneProcess, dns: DnsRelay, gate: StartGate): Promise<void> {
  const admin = [...lab.controlPlanes.values()].map((plane) => plane.adminUrl);
  const adminTokenFiles = [...lab.controlPlanes.values()].map((plane) => plane.adminTokenFile);
  const common = { admin, adminTokenFiles, xds: [`127.0.0.1:${primary.xdsPort}`], dnsServer: `127.0.0.1:${dns.port}`, dnsDomain: "mesh" };
  const start = async (service: DemoService, id: string, extra: Pick<DemoSpawnOptions, "metadata" | "fail">) => {
    lab.services.push(await gate.run(() => spawnDemo(service, { ...common, id, nodeId: id, cacheDir: join(lab.workDir, `cache-${id}`), ...extra })));
  };
  const { instances, metadata, canary } = scenario.topology;
  const starts = DEMO_SERVICES.flatMap((service) =>
    Array.from({ length: instances[service] }, (_, i) => start(service, `${service}-${i}`, { ...(metadata[service] && { metadata: metadata[service] }) })),
  );
  const canaries = canary
    ? Array.from({ length: canary.instances }, (_, i) => start(canary.service, `${canary.service}-canary-${i}`, { metadata: canary.metadata, ...(canary.fails && { fail: canary.fails }) }))
    : [];
  await settleAll([...starts, ...canaries]);
}

/** Whether a cohort starts in, or is moved to, xds-dns-fallback. */
function usesDnsFallback(scenario: Scenario): boolean {
  return scenario.cohorts.some((c) => c.discovery === "xds-dns-fallback") || scenario.timeline.some((e) => e.action === "remediate" && e.to === "xds-dns-fallback");
}

/**
 * Starts the login load balancer in front of the login instances the lab
 * started (not the canary's), and registers it as service login-lb in the
 * primary control plane only, whose DNS the lab's DNS relay serves, so
 * `login-lb.service.mesh` resolves. Not in the guarded ones: a fourth
 * service there would change the push guard's arithmetic (losing login and
 * accounts would remove 2 of 4 Listeners, not 2 of 3, and no longer be held).
 */
async function startBalancer(lab: Lab, primary: ControlPlaneProcess): Promise<LoginBalancer> {
  const logins = lab.services.filter((s) => s.kind === "login" && !s.id.includes("-canary-")).map((s) => s.port);
  const balancer = await startLoginBalancer(() => logins);
  lab.balancer = balancer;
  const path = `/v1/services/${LOGIN_BALANCER.service}/instances/${LOGIN_BALANCER.service}-0`;
  await adminCall(primary, "PUT", path, { address: balancer.address, port: balancer.port });
  return balancer;
}

/** Waits for every start; throws the first failure once all have settled (so tearDown sees every process). */
async function settleAll(starts: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Stops gateways, then services (which deregister while the control planes still run), then the control planes. */
export async function tearDown(lab: Lab): Promise<void> {
  await Promise.allSettled([...lab.fleets.values()].map((f) => f.stop()));
  await Promise.allSettled(lab.services.map((s) => s.stop()));
  await Promise.allSettled([...lab.controlPlanes.values()].map((plane) => plane.stop()));
  await lab.dns?.stop();
  await lab.balancer?.stop();
  await rm(lab.workDir, { recursive: true, force: true });
}
