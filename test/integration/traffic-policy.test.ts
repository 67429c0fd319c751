/**
 * Traffic policy (issue 18) with a STOCK @grpc/grpc-js-xds client and real
 * backends: `checkout` has two instances with metadata version=1 and two
 * with version=2 (so that moving every call to v2 is within the push
 * guard's endpoint-removal threshold: 4 endpoints reachable before, 2 after), and every policy is set only through
 * `steadymesh policy apply -f FILE` (the CLI, in-process, against a live
 * control plane with the push guard on). Each test waits until the client
 * has ACKed the RouteConfiguration of the generation its policy made, then
 * measures what the client does.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { createPolicyCli, type PolicyCli } from "../helpers/policy-cli.js";
import { callMethod, policyClient, startPolicyBackend, type Outcome, type PolicyBackend, type PolicyClient } from "../helpers/policy-backend.js";
import { BOOTSTRAP_KEY } from "../helpers/xds-greeter.js";

const NODE_ID = "policy-client-1";
const SUBSETS = `subsets:
  - { name: v1, match: { version: "1" } }
  - { name: v2, match: { version: "2" } }
`;
/** How long a pushed policy may take to reach the client. */
const PUSH_DEADLINE_MS = 15_000;

describe("traffic policy with a stock grpc-js-xds client", () => {
  let cp: TestControlPlane;
  let dir: string;
  let v1a: PolicyBackend;
  let v1b: PolicyBackend;
  let v2a: PolicyBackend;
  let v2b: PolicyBackend;
  let client: PolicyClient;
  let pc: PolicyCli;

  const cli = (args: readonly string[]) => pc.cli(args);
  const writePolicy = (yaml: string) => pc.writePolicy(yaml);
  const apply = (yaml: string) => pc.apply(yaml);
  const generationOf = (revision: number, statuses: readonly string[]) => pc.generationOf(revision, statuses);

  /** Waits until the client has ACKed the RouteConfiguration of generation `id` (calls keep its stream busy meanwhile). */
  async function untilRoutesAcked(id: number): Promise<void> {
    const end = Date.now() + PUSH_DEADLINE_MS;
    for (;;) {
      const { clients } = (await cp.api("GET", "/v1/clients")).body as { clients: Array<{ nodeId: string; types: Record<string, { ackedGeneration?: number }> }> };
      const acked = clients.filter((c) => c.nodeId === NODE_ID).at(-1)?.types.RDS?.ackedGeneration ?? 0;
      if (acked >= id) return;
      assert.ok(Date.now() < end, `the client did not ACK the routes of generation ${id} within ${PUSH_DEADLINE_MS} ms (it has ${acked})`);
      await callMethod(client, "SayHello", { deadlineMs: 500 });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Applies `yaml` and waits until the client runs on it. */
  async function applyAndWait(yaml: string): Promise<void> {
    const generation = await generationOf(await apply(yaml), ["pushed"]);
    await untilRoutesAcked(generation.id);
  }

  async function calls(count: number, method: "SayHello" | "SayHelloAgain" = "SayHello", headers?: Record<string, string>): Promise<Outcome[]> {
    const results: Outcome[] = [];
    for (let i = 0; i < count; i++) results.push(await callMethod(client, method, { ...(headers && { headers }) }));
    return results;
  }

  const byBackend = (results: readonly Outcome[]): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const r of results) counts[r.ok ? r.backend : `failed ${grpc.status[r.code]}`] = (counts[r.ok ? r.backend : `failed ${grpc.status[r.code]}`] ?? 0) + 1;
    return counts;
  };

  before(async () => {
    const xds = await import("@grpc/grpc-js-xds");
    xds.register();
    dir = await mkdtemp(join(tmpdir(), "steadymesh-policy-"));
    cp = await startControlPlane();
    pc = createPolicyCli(cp, dir, PUSH_DEADLINE_MS);
    [v1a, v1b, v2a, v2b] = (await Promise.all(["v1-a", "v1-b", "v2-a", "v2-b"].map((id) => startPolicyBackend(id)))) as [PolicyBackend, PolicyBackend, PolicyBackend, PolicyBackend];
    await cp.register("checkout", "v1-a", v1a.port, { metadata: { version: "1" } });
    await cp.register("checkout", "v1-b", v1b.port, { metadata: { version: "1" } });
    await cp.register("checkout", "v2-a", v2a.port, { metadata: { version: "2" } });
    await cp.register("checkout", "v2-b", v2b.port, { metadata: { version: "2" } });
    const bootstrap = buildBootstrap({ nodeId: NODE_ID, xds: [`127.0.0.1:${cp.xds.port}`] });
    client = policyClient("xds:///checkout", { [BOOTSTRAP_KEY]: JSON.stringify(bootstrap) });
    // Without a policy: every instance, round robin.
    const end = Date.now() + PUSH_DEADLINE_MS;
    while (!(await callMethod(client, "SayHello")).ok) assert.ok(Date.now() < end, "checkout never answered without a policy");
  });

  after(async () => {
    client?.close();
    await Promise.all([v1a?.stop(), v1b?.stop(), v2a?.stop(), v2b?.stop()]);
    await cp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("policy - a 90/10 split over 2,000 RPCs lands within ±3 points; 0/100 moves every new RPC within a second, none failing", async (t) => {
    await applyAndWait(`service: checkout\n${SUBSETS}routes:\n  - match: { prefix: "/" }\n    to: [{ subset: v1, weight: 90 }, { subset: v2, weight: 10 }]\n`);
    const results = await calls(2000);
    const counts = byBackend(results);
    assert.equal(results.filter((r) => !r.ok).length, 0, JSON.stringify(counts));
    const v2Share = (((counts["v2-a"] ?? 0) + (counts["v2-b"] ?? 0)) / results.length) * 100;
    t.diagnostic(`90/10 split: ${JSON.stringify(counts)}, v2 ${v2Share.toFixed(1)} %`);
    assert.ok(Math.abs(v2Share - 10) <= 3, `v2 got ${v2Share.toFixed(1)} % of 2,000 RPCs, wanted 10 ± 3: ${JSON.stringify(counts)}`);

    // Under a steady load (one RPC every 5 ms), the split goes to 0/100.
    const load: Array<Outcome & { startedAt: number }> = [];
    let loading = true;
    const running = (async () => {
      const pending: Promise<void>[] = [];
      while (loading) {
        const startedAt = performance.now();
        pending.push(callMethod(client, "SayHello").then((r) => void load.push({ ...r, startedAt })));
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(pending);
    })();
    await new Promise((r) => setTimeout(r, 300));
    const appliedAt = performance.now();
    await apply(`service: checkout\n${SUBSETS}routes:\n  - match: { prefix: "/" }\n    to: [{ subset: v1, weight: 0 }, { subset: v2, weight: 100 }]\n`);
    await new Promise((r) => setTimeout(r, 2000));
    loading = false;
    await running;
    const failed = load.filter((r) => !r.ok);
    assert.deepEqual(failed, [], "no RPC fails while the split changes");
    const lateToV1 = load.filter((r) => r.startedAt > appliedAt + 1000 && r.ok && r.backend.startsWith("v1"));
    const lastToV1 = Math.max(...load.filter((r) => r.ok && r.backend.startsWith("v1")).map((r) => r.startedAt - appliedAt));
    t.diagnostic(`0/100: ${load.length} RPCs under load; the last one to v1 started ${lastToV1.toFixed(0)} ms after 'policy apply' began`);
    assert.equal(lateToV1.length, 0, `${lateToV1.length} RPCs started more than 1 s after the apply still went to v1`);
    assert.ok(load.some((r) => r.startedAt > appliedAt + 1000), "the load ran past the first second");
  });

  test("policy - a header match sends only the marked calls to v2", async () => {
    await applyAndWait(
      `service: checkout\n${SUBSETS}routes:\n  - match: { headers: { x-canary: { exact: "yes" } } }\n    to: [{ subset: v2 }]\n  - match: { prefix: "/" }\n    to: [{ subset: v1 }]\n`,
    );
    const marked = byBackend(await calls(50, "SayHello", { "x-canary": "yes" }));
    const unmarked = byBackend(await calls(50));
    const otherValue = byBackend(await calls(20, "SayHello", { "x-canary": "no" }));
    assert.deepEqual(Object.keys(marked).sort(), ["v2-a", "v2-b"], JSON.stringify(marked));
    assert.deepEqual(Object.keys(unmarked).sort(), ["v1-a", "v1-b"], JSON.stringify(unmarked));
    assert.deepEqual(Object.keys(otherValue).sort(), ["v1-a", "v1-b"], JSON.stringify(otherValue));
  });

  test("policy - a method timeout fails a 500 ms backend with DEADLINE_EXCEEDED at about the configured time; the other method keeps the client's deadline", async (t) => {
    for (const backend of [v1a, v1b, v2a, v2b]) backend.set({ delayMs: 500 });
    try {
      await applyAndWait(`service: checkout\n${SUBSETS}routes:\n  - match: { method: "/steadymesh.test.Greeter/SayHello" }\n    timeoutMs: 200\n    to: [{ subset: v1 }]\n`);
      const timed = await Promise.all(Array.from({ length: 5 }, () => callMethod(client, "SayHello", { deadlineMs: 5000 })));
      for (const r of timed) {
        assert.equal(r.ok, false, JSON.stringify(r));
        assert.equal(!r.ok && r.code, grpc.status.DEADLINE_EXCEEDED, JSON.stringify(r));
        assert.ok(r.ms >= 180 && r.ms < 450, `failed after ${r.ms.toFixed(0)} ms, wanted about 200`);
      }
      t.diagnostic(`SayHello under timeoutMs 200: DEADLINE_EXCEEDED after ${timed.map((r) => r.ms.toFixed(0)).join(", ")} ms`);
      const other = await Promise.all(Array.from({ length: 5 }, () => callMethod(client, "SayHelloAgain", { deadlineMs: 5000 })));
      assert.ok(other.every((r) => r.ok && r.ms >= 480), `SayHelloAgain keeps the client's 5 s deadline: ${JSON.stringify(other)}`);
    } finally {
      for (const backend of [v1a, v1b, v2a, v2b]) backend.set({});
    }
  });

  test("policy - retries: 3 attempts on unavailable get ≥ 97 % of 1,000 RPCs through a backend failing half its calls; a code not listed is not retried", async (t) => {
    for (const backend of [v1a, v1b]) backend.set({ failHalfWith: grpc.status.UNAVAILABLE });
    try {
      await applyAndWait(
        `service: checkout\n${SUBSETS}routes:\n  - match: { prefix: "/" }\n    retry: { on: [unavailable], attempts: 3, backoff: { baseMs: 1, maxMs: 5 } }\n    to: [{ subset: v1 }]\n`,
      );
      const before = v1a.calls() + v1b.calls();
      const results = await calls(1000);
      const ok = results.filter((r) => r.ok).length;
      const attempts = v1a.calls() + v1b.calls() - before;
      t.diagnostic(`retry on unavailable: ${ok}/1000 succeeded, ${attempts} attempts reached the backends`);
      assert.ok(ok >= 970, `${ok}/1000 succeeded: ${JSON.stringify(byBackend(results))}`);
      assert.ok(attempts > 1000, `the backends saw ${attempts} attempts for 1,000 RPCs: nothing was retried`);

      for (const backend of [v1a, v1b]) backend.set({ failHalfWith: grpc.status.INTERNAL });
      const internalBefore = v1a.calls() + v1b.calls();
      const internal = await calls(200);
      const internalAttempts = v1a.calls() + v1b.calls() - internalBefore;
      const failedInternal = internal.filter((r) => !r.ok && r.code === grpc.status.INTERNAL).length;
      t.diagnostic(`INTERNAL, not in 'on': ${failedInternal}/200 failed, ${internalAttempts} attempts`);
      assert.equal(internalAttempts, 200, "INTERNAL is not retried: one attempt per RPC");
      assert.ok(failedInternal >= 80, `about half fail with INTERNAL: ${JSON.stringify(byBackend(internal))}`);
    } finally {
      for (const backend of [v1a, v1b]) backend.set({});
    }
  });

  test("policy - fault injection: abort at 100 % gives the configured code without reaching a backend; delay adds its time", async (t) => {
    await applyAndWait(
      `service: checkout\n${SUBSETS}routes:\n  - match: { method: "/steadymesh.test.Greeter/SayHello" }\n    fault: { abort: { code: RESOURCE_EXHAUSTED, percent: 100 } }\n    to: [{ subset: v1 }]\n  - match: { method: "/steadymesh.test.Greeter/SayHelloAgain" }\n    fault: { delay: { ms: 300, percent: 100 } }\n    to: [{ subset: v1 }]\n`,
    );
    const before = v1a.calls("SayHello") + v1b.calls("SayHello");
    const aborted = await calls(20);
    assert.ok(aborted.every((r) => !r.ok && r.code === grpc.status.RESOURCE_EXHAUSTED), JSON.stringify(byBackend(aborted)));
    assert.equal(v1a.calls("SayHello") + v1b.calls("SayHello"), before, "an aborted call never reaches a backend");
    const delayed = await Promise.all(Array.from({ length: 5 }, () => callMethod(client, "SayHelloAgain", { deadlineMs: 5000 })));
    t.diagnostic(`delay 300 ms: calls took ${delayed.map((r) => r.ms.toFixed(0)).join(", ")} ms`);
    assert.ok(delayed.every((r) => r.ok && r.ms >= 290 && r.ms < 1000), JSON.stringify(delayed));
  });

  test("policy - a route to an empty subset is held; the client keeps its old routes with no failed RPC; approving it gives UNAVAILABLE", async () => {
    // A route no earlier test used, so that this policy makes a generation of its own.
    await applyAndWait(`service: checkout\n${SUBSETS}routes:\n  - match: { prefix: "/steadymesh.test." }\n    to: [{ subset: v2 }]\n`);
    const revision = await apply(
      `service: checkout\n${SUBSETS}  - { name: v3, match: { version: "3" } }\nroutes:\n  - match: { prefix: "/" }\n    to: [{ subset: v3 }]\n`,
    );
    const held = await generationOf(revision, ["held", "pushed"]);
    assert.equal(held.status, "held", JSON.stringify(held));
    assert.match(held.reason ?? "", /v3/, "the reason names the subset");
    assert.match(held.reason ?? "", /route 0|routes\[0\]/, "the reason names the route");
    const during = await calls(50);
    assert.deepEqual(Object.keys(byBackend(during)).sort(), ["v2-a", "v2-b"], "the client keeps its old routes, with no failed RPC");

    const approved = await cli(["approve", String(held.id)]);
    assert.equal(approved.code, 0, approved.stderr);
    await untilRoutesAcked(held.id);
    // The routes are ACKed first; the new subset's (empty) Cluster and endpoints follow on the same stream.
    const end = Date.now() + PUSH_DEADLINE_MS;
    while ((await callMethod(client, "SayHello")).ok) assert.ok(Date.now() < end, "calls still succeed after the black hole was approved");
    const after = await calls(5);
    assert.ok(after.every((r) => !r.ok && r.code === grpc.status.UNAVAILABLE), JSON.stringify(after));
  });

  test("policy - a bad file exits 1 with one line per problem, each naming its path, and changes nothing", async () => {
    const before = await cli(["policy", "get", "checkout", "--json"]);
    assert.equal(before.code, 0, before.stderr);
    const bad = await cli([
      "policy",
      "apply",
      "-f",
      await writePolicy(
        `service: checkout\n${SUBSETS}routes:\n  - match: { prefix: "/" }\n    to: [{ subset: v9 }]\n  - match: { prefix: "/a" }\n    to: [{ subset: v1, weight: 60 }, { subset: v2, weight: 30 }]\n  - match: { headers: { x-user: { regex: "(" } } }\n    to: [{ subset: v1 }]\n  - match: { prefix: "/b" }\n    colour: blue\n    to: [{ subset: v1 }]\n  - match: { prefix: "/c" }\n    retry: { on: [unavailable, teapot], attempts: 2 }\n    to: [{ subset: v1 }]\n`,
      ),
    ]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    const lines = bad.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 6, bad.stderr);
    assert.match(lines[5]!, /has 5 problems; nothing was applied$/);
    for (const path of ["routes[0].to[0].subset", "routes[1].to", "routes[2].match.headers", "routes[3]", "routes[4].retry.on[1]"]) {
      assert.equal(lines.filter((line) => line.includes(path)).length >= 1, true, `no line names ${path}: ${bad.stderr}`);
    }
    const after = await cli(["policy", "get", "checkout", "--json"]);
    assert.equal(after.stdout, before.stdout, "the stored policy is unchanged");
  });
});
