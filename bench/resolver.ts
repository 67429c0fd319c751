/**
 * `resolver`: unary RPC throughput through `steady:///greeter` (the steady
 * resolver, whose one endpoint comes from a `serve` child's xDS) and through
 * the direct `ipv4:127.0.0.1:PORT` address of the same backend. Three
 * processes: serve, a Greeter backend (test/helpers/greeter-child.ts) and
 * the client (bench/resolver-client.ts), which keeps 32 RPCs in flight and
 * alternates rounds direct, steady, direct, steady … after a warm-up of
 * both. Reports the median round of each. Goal: ≥ 98% of direct.
 */
import { spawn } from "node:child_process";
import { Agent } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnBackend, type BackendProcess } from "../test/helpers/greeter.js";
import { startServeProcess, type ServeProcess } from "../test/helpers/serve-process.js";
import { put } from "./admin-http.js";
import { median } from "./percentiles.js";
import type { ClientPlan, ClientReport } from "./resolver-client.js";
import type { BenchSection } from "./section.js";

const CLIENT = fileURLToPath(new URL("./resolver-client.ts", import.meta.url));
const CONCURRENCY = 32;
const GOAL_SHARE = 0.98;

/** Runs the client child with `plan` and resolves with its report; kills it if the bench gives up. */
function runClient(plan: ClientPlan, timeoutMs: number): Promise<ClientReport> {
  const child = spawn(process.execPath, ["--import", "tsx", CLIENT, JSON.stringify(plan)], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise<ClientReport>((resolve, reject) => {
    const timer = setTimeout(() => (child.kill("SIGKILL"), reject(new Error(`resolver client did not finish in ${timeoutMs / 1000} s: ${stderr.trim()}`))), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").pop();
      if (code === 0 && line) resolve(JSON.parse(line) as ClientReport);
      else reject(new Error(`resolver client exited with ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

export const resolver: BenchSection = async (context) => {
  const plan = {
    concurrency: CONCURRENCY,
    // Throughput climbs for the first seconds of the client process (JIT), so both clients warm up first.
    warmupMs: context.quick ? 1000 : 3000,
    roundMs: context.quick ? 1000 : 5000,
    rounds: context.quick ? 1 : 3,
  };
  let serve: ServeProcess | undefined;
  let backend: BackendProcess | undefined;
  try {
    const [serveStarted, backendStarted] = await Promise.allSettled([
      startServeProcess(["--store", "memory", "--data-dir", join(context.tmpDir, "serve")]),
      spawnBackend("b1"),
    ]);
    if (serveStarted.status === "fulfilled") serve = serveStarted.value;
    if (backendStarted.status === "fulfilled") backend = backendStarted.value;
    if (serveStarted.status === "rejected") throw serveStarted.reason;
    if (backendStarted.status === "rejected") throw backendStarted.reason;
    const agent = new Agent({ keepAlive: false });
    await put(agent, serve!, "/v1/services/greeter/instances/b1", { address: "127.0.0.1", port: backend!.port, health: "healthy" });
    agent.destroy();
    context.log(`backend on port ${backend!.port} registered; client: ${CONCURRENCY} in flight, ${plan.rounds} round(s) of ${plan.roundMs / 1000} s each way`);
    const timeoutMs = 30_000 + 2 * (plan.warmupMs + plan.rounds * plan.roundMs);
    const report = await runClient({ ...plan, xdsPort: serve!.xdsPort, dnsPort: serve!.dnsPort, backendPort: backend!.port, cacheDir: join(context.tmpDir, "client-cache") }, timeoutMs);
    const failed = [...report.direct, ...report.steady].reduce((sum, r) => sum + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} RPCs failed, first: ${[...report.direct, ...report.steady].find((r) => r.firstError)?.firstError}`);
    const direct = median(report.direct.map((r) => r.rate));
    const steady = median(report.steady.map((r) => r.rate));
    context.log(`direct ${direct.toFixed(0)} rps, steady ${steady.toFixed(0)} rps (steady source: ${report.steadySource})`);
    const notes = [`${CONCURRENCY} unary RPCs in flight from one client process; median of ${plan.rounds} alternating round(s) of ${plan.roundMs / 1000} s each`];
    if (report.steadySource !== "xds") notes.push(`the steady resolver's source was ${report.steadySource}, not xds`);
    return {
      name: "resolver",
      rows: [{ metric: "unary RPCs/s via steady:///greeter", value: steady, unit: "rps", baseline: { name: "direct ipv4:", value: direct }, goal: "≥ 98% of direct", met: steady >= GOAL_SHARE * direct }],
      details: { ...plan, steadySource: report.steadySource, directRounds: report.direct, steadyRounds: report.steady },
      notes,
    };
  } finally {
    await Promise.all([serve?.stop(), backend?.kill()]);
  }
};
