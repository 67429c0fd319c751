/**
 * Locality failover (issue 19) with a STOCK @grpc/grpc-js-xds client
 * configured only by steadymesh: `checkout` has two instances in zone z1 and
 * two in z2; the client's bootstrap puts it in z1; the policy (`steadymesh
 * policy apply`) says `failover: { zones: [z1, z2] }`, so z1 is EDS priority
 * 0 and z2 priority 1. Every RPC goes to z1; when z1's instances are all
 * unhealthy (set through the admin API), RPCs go to z2; they come back once
 * z1 is healthy again.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { capture } from "../helpers/io.js";
import { callMethod, policyClient, startPolicyBackend, type Outcome, type PolicyBackend, type PolicyClient } from "../helpers/policy-backend.js";
import { BOOTSTRAP_KEY } from "../helpers/xds-greeter.js";

const DEADLINE_MS = 15_000;
const Z1 = ["z1-a", "z1-b"];
const Z2 = ["z2-a", "z2-b"];

describe("locality failover with a stock grpc-js-xds client", () => {
  let cp: TestControlPlane;
  let dir: string;
  let backends: Map<string, PolicyBackend>;
  let client: PolicyClient;

  const zoneOf = (id: string) => id.slice(0, 2);
  const backendOf = (o: Outcome) => (o.ok ? o.backend : "failed");

  async function register(id: string, health: "healthy" | "unhealthy"): Promise<void> {
    await cp.register("checkout", id, backends.get(id)!.port, { zone: zoneOf(id), health });
  }

  /** Calls until one lands in `zone`; then 40 more, which must all land there. */
  async function settleIn(zone: string): Promise<Outcome[]> {
    const end = Date.now() + DEADLINE_MS;
    for (;;) {
      const outcome = await callMethod(client, "SayHello", { deadlineMs: 2000 });
      if (outcome.ok && zoneOf(outcome.backend) === zone) break;
      assert.ok(Date.now() < end, `no RPC reached ${zone} within ${DEADLINE_MS} ms: ${backendOf(outcome)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 40; i++) outcomes.push(await callMethod(client, "SayHello", { deadlineMs: 2000 }));
    return outcomes;
  }

  before(async () => {
    (await import("@grpc/grpc-js-xds")).register();
    dir = await mkdtemp(join(tmpdir(), "steadymesh-failover-"));
    cp = await startControlPlane();
    backends = new Map(await Promise.all([...Z1, ...Z2].map(async (id) => [id, await startPolicyBackend(id)] as const)));
    for (const id of [...Z1, ...Z2]) await register(id, "healthy");
    const file = join(dir, "policy.yaml");
    await writeFile(file, "service: checkout\nfailover: { zones: [z1, z2] }\n");
    const stdout = capture();
    const stderr = capture();
    const code = await main(["node", "steadymesh", "policy", "apply", "-f", file, ...cp.cliArgs], { stdout: stdout.stream, stderr: stderr.stream });
    assert.equal(code, 0, `policy apply failed: ${stderr.text()}`);
    // The client starts on the generation with priorities, so its first RPCs already follow them.
    const revision = Number(/revision (\d+)/.exec(stdout.text())?.[1]);
    const end = Date.now() + DEADLINE_MS;
    for (;;) {
      const { generations } = (await cp.api("GET", "/v1/generations")).body as { generations: Array<{ revision: number; status: string }> };
      if (generations.some((g) => g.revision >= revision && g.status === "pushed")) break;
      assert.ok(Date.now() < end, `the policy's generation was not pushed: ${JSON.stringify(generations.slice(-2))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const bootstrap = buildBootstrap({ nodeId: "failover-client-1", xds: [`127.0.0.1:${cp.xds.port}`], zone: "z1" });
    client = policyClient("xds:///checkout", { [BOOTSTRAP_KEY]: JSON.stringify(bootstrap) });
  });

  after(async () => {
    client?.close();
    await Promise.all([...(backends?.values() ?? [])].map((backend) => backend.stop()));
    await cp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("failover - every RPC to z1; z1 unhealthy, RPCs go to z2; z1 healthy again, they come back", async (t) => {
    const first = await settleIn("z1");
    assert.ok(first.every((o) => o.ok && zoneOf(o.backend) === "z1"), JSON.stringify(first.map(backendOf)));
    assert.deepEqual(new Set(first.map(backendOf)), new Set(Z1), "both z1 instances share the load");
    assert.equal(Z2.reduce((sum, id) => sum + backends.get(id)!.calls(), 0), 0, "z2 got no call while z1 was healthy");

    for (const id of Z1) await register(id, "unhealthy");
    const spilled = await settleIn("z2");
    t.diagnostic(`z1 unhealthy: ${JSON.stringify(spilled.map(backendOf))}`);
    assert.ok(spilled.every((o) => o.ok && zoneOf(o.backend) === "z2"), JSON.stringify(spilled.map(backendOf)));

    for (const id of Z1) await register(id, "healthy");
    const back = await settleIn("z1");
    assert.ok(back.every((o) => o.ok && zoneOf(o.backend) === "z1"), JSON.stringify(back.map(backendOf)));
  });
});
