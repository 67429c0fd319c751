/**
 * The `resolver` section's client, in a process of its own (apart from the
 * control plane and the backend). argv[2] is JSON {@link ClientPlan}. It
 * opens one Greeter client through `steady:///greeter` (the steady resolver,
 * fed by the serve child's xDS) and one through the backend's direct
 * `ipv4:` address, warms both up in alternating slices, then runs closed-loop rounds alternating
 * direct, steady, direct, steady … and prints one JSON line of results.
 */
import * as grpc from "@grpc/grpc-js";
import { registerSteadyResolver } from "../src/client/index.js";
import { loadGreeter } from "../test/helpers/greeter.js";
import { closedLoop, type LoadResult } from "./load.js";

export interface ClientPlan {
  readonly xdsPort: number;
  readonly dnsPort: number;
  readonly backendPort: number;
  readonly cacheDir: string;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly roundMs: number;
  readonly rounds: number;
}

export interface ClientReport {
  readonly direct: LoadResult[];
  readonly steady: LoadResult[];
  /** Where the steady resolver's endpoints came from after the run (should be `xds`). */
  readonly steadySource: string | undefined;
}

const plan = JSON.parse(process.argv[2] ?? "{}") as ClientPlan;
const steadyHandle = registerSteadyResolver({
  xdsServers: [`127.0.0.1:${plan.xdsPort}`],
  nodeId: "bench-resolver",
  dns: { server: `127.0.0.1:${plan.dnsPort}`, domain: "mesh" },
  cacheDir: plan.cacheDir,
});
const Greeter = loadGreeter();
const clients = {
  direct: new Greeter(`ipv4:127.0.0.1:${plan.backendPort}`, grpc.credentials.createInsecure()),
  steady: new Greeter("steady:///greeter", grpc.credentials.createInsecure()),
};

function call(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    (client as unknown as { SayHello: (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void }).SayHello(
      { name: "bench" },
      { deadline: Date.now() + 5000 },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}

const report: ClientReport = { direct: [], steady: [], steadySource: undefined };
try {
  // Warm-up in short alternating slices, so the JIT (here and in the backend) is equally warm for both.
  const slices = 4;
  for (let slice = 0; slice < slices; slice++) {
    for (const kind of ["direct", "steady"] as const) {
      const warm = await closedLoop(plan.concurrency, plan.warmupMs / slices, () => call(clients[kind]));
      if (warm.ok === 0) throw new Error(`${kind}: no RPC succeeded in the warm-up: ${warm.firstError}`);
    }
  }
  for (let round = 0; round < plan.rounds; round++) {
    for (const kind of ["direct", "steady"] as const) report[kind].push(await closedLoop(plan.concurrency, plan.roundMs, () => call(clients[kind])));
  }
  (report as { steadySource: string | undefined }).steadySource = steadyHandle.sources()["greeter"];
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  clients.direct.close();
  clients.steady.close();
  await steadyHandle.close();
}
process.exit(0);
