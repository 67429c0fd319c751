/**
 * Traffic policy (issue 18) with a second stock client: Debian's
 * python3-grpcio (the C-core) through `xds:///checkout`, with the bootstrap
 * `buildBootstrap` makes. The same setup as traffic-policy.test.ts: a live
 * control plane with the push guard on, `checkout` with two instances of
 * metadata version=1 and two of version=2 (real backends answering
 * SayHello and SayHelloAgain, test/helpers/policy-backend.ts), and every
 * policy set only through `steadymesh policy apply -f FILE` (the CLI's
 * `main`, in-process). Each test waits until the grpcio client has ACKed
 * the RouteConfiguration of its policy's generation; grpcio reads its ADS
 * stream only while an RPC is in flight, so the wait keeps calling.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { buildBootstrap } from "../../src/xds/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { grpcioMissing, startGrpcioProcess, type CallOptions, type GrpcioProcess, type TimedCallResult } from "../helpers/grpcio-client.js";
import { createPolicyCli, type PolicyCli } from "../helpers/policy-cli.js";
import { startPolicyBackend, type PolicyBackend } from "../helpers/policy-backend.js";

const NODE_ID = "grpcio-policy-1";
const TARGET = "xds:///checkout";
const SUBSETS = `subsets:
  - { name: v1, match: { version: "1" } }
  - { name: v2, match: { version: "2" } }
`;
/** How long a pushed policy may take to reach the client (grpcio's backup poller runs every 5 s). */
const PUSH_DEADLINE_MS = 20_000;
const MISSING = grpcioMissing();

const byBackend = (results: readonly TimedCallResult[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.ok ? r.backend : `failed ${grpc.status[r.code]}: ${r.details}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

describe("traffic policy with a stock grpcio client", { skip: MISSING && `skipped: ${MISSING}` }, () => {
  let cp: TestControlPlane;
  let dir: string;
  let backends: PolicyBackend[] = [];
  let v1: PolicyBackend[];
  let client: GrpcioProcess;
  let pc: PolicyCli;

  /**
   * Asserts how the STOCK grpcio client behaved, as a measured fact (from
   * grpcio 1.51.1), so that a later grpcio that behaves differently fails
   * with a message that says so.
   */
  function assertMeasuredGrpcio(fact: string, holds: boolean, observed: string): void {
    if (!holds) {
      assert.fail(
        `MEASURED FACT CHANGED for stock grpcio ${client.version} (the facts are from 1.51.1): expected "${fact}", observed ${observed}. ` +
          `If the client or the server improved, update docs/stock-grpc-clients.md and this test.`,
      );
    }
  }

  const calls = (count: number, method: "SayHello" | "SayHelloAgain" = "SayHello", options: CallOptions = {}) =>
    client.callMethod(TARGET, method, { deadlineMs: 2000, ...options, count });

  /** `steadymesh policy apply -f FILE`, in-process: the registry revision it printed; and the generation it made, once pushed. */
  const apply = (yaml: string) => pc.apply(yaml);
  const pushedGeneration = async (revision: number) => (await pc.generationOf(revision, ["pushed"])).id;

  /** Calls (so that grpcio reads its stream) until the client has ACKed the RouteConfiguration of generation `id`. */
  async function untilRoutesAcked(id: number): Promise<void> {
    const end = Date.now() + PUSH_DEADLINE_MS;
    for (;;) {
      const { clients } = (await cp.api("GET", "/v1/clients")).body as { clients: Array<{ nodeId: string; types: Record<string, { ackedGeneration?: number }> }> };
      const acked = clients.filter((c) => c.nodeId === NODE_ID).at(-1)?.types.RDS?.ackedGeneration ?? 0;
      if (acked >= id) return;
      assert.ok(Date.now() < end, `grpcio did not ACK the routes of generation ${id} within ${PUSH_DEADLINE_MS} ms (it has ${acked})`);
      await calls(1, "SayHello", { deadlineMs: 500 });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Applies `yaml`, waits until grpcio runs on it, then until a call of
   * `method` succeeds (a new subset's Cluster and endpoints follow the routes
   * on the stream).
   */
  async function applyAndWait(yaml: string, ready: (r: TimedCallResult) => boolean = (r) => r.ok): Promise<void> {
    await untilRoutesAcked(await pushedGeneration(await apply(yaml)));
    const end = Date.now() + PUSH_DEADLINE_MS;
    for (let last = (await calls(1))[0]!; !ready(last); last = (await calls(1))[0]!) {
      assert.ok(Date.now() < end, `no call was ready after the policy was ACKed; the last: ${JSON.stringify(last)}`);
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "steadymesh-grpcio-policy-"));
    cp = await startControlPlane();
    pc = createPolicyCli(cp, dir, PUSH_DEADLINE_MS);
    backends = await Promise.all(["v1-a", "v1-b", "v2-a", "v2-b"].map((id) => startPolicyBackend(id)));
    v1 = backends.slice(0, 2);
    for (const b of backends) await cp.register("checkout", b.id, b.port, { metadata: { version: b.id[1]! } });
    client = await startGrpcioProcess(buildBootstrap({ nodeId: NODE_ID, xds: [`127.0.0.1:${cp.xds.port}`] }));
    const end = Date.now() + PUSH_DEADLINE_MS;
    while (!(await calls(1))[0]!.ok) assert.ok(Date.now() < end, `checkout never answered without a policy: ${client.stderr().slice(-2000)}`);
  });

  after(async () => {
    await client?.stop();
    await Promise.all(backends.map((b) => b.stop()));
    await cp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // 2,000 RPCs: v2's share has a standard deviation of 0.67 points (binomial, p = 0.1), so ±3 points is 4.5 σ: a
  // correct client fails it about once in 150,000 runs, and a split the client ignored (50 %) or inverted fails always.
  test("grpcio policy - a 90/10 split over 2,000 RPCs lands within ±3 points, none failing; MEASURED, every grpcio 1.51.1 process picks by the same pseudo-random sequence", async (t) => {
    await applyAndWait(`service: checkout\n${SUBSETS}routes:\n  - match: { prefix: "/" }\n    to: [{ subset: v1, weight: 90 }, { subset: v2, weight: 10 }]\n`);
    const results = await calls(2000);
    const counts = byBackend(results);
    assert.equal(results.filter((r) => !r.ok).length, 0, JSON.stringify(counts));
    const v2Share = (((counts["v2-a"] ?? 0) + (counts["v2-b"] ?? 0)) / results.length) * 100;
    t.diagnostic(`grpcio 90/10 split: ${JSON.stringify(counts)}, v2 ${v2Share.toFixed(1)} %`);
    assert.ok(Math.abs(v2Share - 10) <= 3, `v2 got ${v2Share.toFixed(1)} % of 2,000 RPCs, wanted 10 ± 3: ${JSON.stringify(counts)}`);

    // MEASURED on grpcio 1.51.1: the split's picks follow the same pseudo-random sequence in every process (runs of
    // this test all gave 10.9–11.1 %, where independent runs would spread by ±0.7 points; 10,000 RPCs gave 10.3 %).
    // Two new processes put 15–28 of their ~31 v2 calls at the same call numbers (the sequences drift apart now and then); independent ones would share about 3.
    const fresh = await Promise.all(["grpcio-policy-2", "grpcio-policy-3"].map((nodeId) => startGrpcioProcess(buildBootstrap({ nodeId, xds: [`127.0.0.1:${cp.xds.port}`] }))));
    try {
      const v2Calls: Array<Set<number>> = [];
      for (const p of fresh) {
        const first = await p.callUntil(TARGET, (r) => r.ok, PUSH_DEADLINE_MS);
        assert.ok(first.ok, JSON.stringify(first));
        const picks = await p.callMethod(TARGET, "SayHello", { count: 300, deadlineMs: 2000 });
        assert.ok(picks.every((r) => r.ok), JSON.stringify(byBackend(picks)));
        v2Calls.push(new Set(picks.flatMap((r, i) => (r.ok && r.backend.startsWith("v2") ? [i] : []))));
      }
      const [a, b] = v2Calls as [Set<number>, Set<number>];
      const shared = [...a].filter((i) => b.has(i)).length;
      t.diagnostic(`two new grpcio processes, 300 RPCs each: ${a.size} and ${b.size} to v2, ${shared} at the same call numbers`);
      assertMeasuredGrpcio(
        "two new processes send at least a third of their v2 calls at the same call numbers (one pseudo-random sequence for every process)",
        a.size > 0 && shared >= Math.min(a.size, b.size) / 3,
        `${a.size} and ${b.size} v2 calls, ${shared} shared: [${[...a].join(",")}] and [${[...b].join(",")}]`,
      );
    } finally {
      await Promise.all(fresh.map((p) => p.stop()));
    }
  });

  test("grpcio policy - a header match sends only the marked calls to v2, on either method", async () => {
    await applyAndWait(
      `service: checkout\n${SUBSETS}routes:\n  - match: { headers: { x-canary: { exact: "yes" } } }\n    to: [{ subset: v2 }]\n  - match: { prefix: "/" }\n    to: [{ subset: v1 }]\n`,
      (r) => r.ok && r.backend.startsWith("v1"),
    );
    const marked = byBackend([...(await calls(40, "SayHello", { metadata: { "x-canary": "yes" } })), ...(await calls(10, "SayHelloAgain", { metadata: { "x-canary": "yes" } }))]);
    const unmarked = byBackend([...(await calls(40)), ...(await calls(10, "SayHelloAgain"))]);
    const otherValue = byBackend(await calls(20, "SayHello", { metadata: { "x-canary": "no" } }));
    assert.deepEqual(Object.keys(marked).sort(), ["v2-a", "v2-b"], JSON.stringify(marked));
    assert.deepEqual(Object.keys(unmarked).sort(), ["v1-a", "v1-b"], JSON.stringify(unmarked));
    assert.deepEqual(Object.keys(otherValue).sort(), ["v1-a", "v1-b"], JSON.stringify(otherValue));
  });

  // MEASURED on grpcio 1.51.1: a per-method timeout (max_stream_duration here; a plain grpc.service_config "timeout"
  // does the same without xDS) fires 1–2 s EARLY. The C-core measures the method timeout from a call start time that
  // lies 1–2 s in the past (1 s plus the fraction of a second at which the process started; by hand, with a
  // service config on a plain channel, the smallest timeout that let an instant call through was 1.37–1.92 s over
  // four processes). So a timeout under 1 s fails every call at once, before it is sent, and a longer one fails a
  // call 1–2 s before the configured time. Upstream: grpc/grpc#40633 (open, grpcio 1.74: "grpc.service_config
  // timeout causing DEADLINE_EXCEEDED error too early"). grpc-js-xds honours the configured time (traffic-policy.test.ts).
  test("grpcio policy - a method timeout gives DEADLINE_EXCEEDED: MEASURED, grpcio 1.51.1 fires it 1–2 s early (at once under 1 s); the other method keeps the client's deadline", async (t) => {
    const sayHelloCalls = () => backends.reduce((n, b) => n + b.calls("SayHello"), 0);
    await applyAndWait(`service: checkout\n${SUBSETS}routes:\n  - match: { method: "/steadymesh.test.Greeter/SayHello" }\n    timeoutMs: 200\n    to: [{ subset: v1 }]\n`, (r) => !r.ok);
    for (const b of backends) b.set({ delayMs: 500 });
    try {
      const before = sayHelloCalls();
      const short = await calls(5, "SayHello", { deadlineMs: 5000 });
      t.diagnostic(`grpcio, SayHello under timeoutMs 200 (backends take 500 ms): ${JSON.stringify(byBackend(short))} after ${short.map((r) => r.ms.toFixed(1)).join(", ")} ms`);
      assertMeasuredGrpcio(
        "timeoutMs 200: every call fails with DEADLINE_EXCEEDED at once (under 50 ms), never reaching a backend",
        short.every((r) => !r.ok && r.code === grpc.status.DEADLINE_EXCEEDED && r.ms < 50) && sayHelloCalls() === before,
        `${JSON.stringify(short)}; the backends saw ${sayHelloCalls() - before} SayHello calls`,
      );
      const other = await calls(3, "SayHelloAgain", { deadlineMs: 5000 });
      assert.ok(other.every((r) => r.ok && r.ms >= 480), `SayHelloAgain keeps the client's 5 s deadline: ${JSON.stringify(other)}`);
    } finally {
      for (const b of backends) b.set({});
    }

    await applyAndWait(`service: checkout\n${SUBSETS}routes:\n  - match: { method: "/steadymesh.test.Greeter/SayHello" }\n    timeoutMs: 3000\n    to: [{ subset: v1 }]\n`);
    for (const b of backends) b.set({ delayMs: 2500 });
    try {
      const timed = await calls(2, "SayHello", { deadlineMs: 10_000 });
      t.diagnostic(`grpcio, SayHello under timeoutMs 3000 (backends take 2,500 ms): ${JSON.stringify(byBackend(timed))} after ${timed.map((r) => r.ms.toFixed(0)).join(", ")} ms`);
      assertMeasuredGrpcio(
        "timeoutMs 3000: every call fails with DEADLINE_EXCEEDED 1–2 s early (after 950–2,100 ms, before the 2,500 ms backend answers)",
        timed.every((r) => !r.ok && r.code === grpc.status.DEADLINE_EXCEEDED && r.ms >= 950 && r.ms < 2100),
        JSON.stringify(timed),
      );
      const other = await calls(1, "SayHelloAgain", { deadlineMs: 10_000 });
      assert.ok(other.every((r) => r.ok && r.ms >= 2480), `SayHelloAgain keeps the client's 10 s deadline: ${JSON.stringify(other)}`);
    } finally {
      for (const b of backends) b.set({});
    }
  });

  test("grpcio policy - retries: 3 attempts on unavailable get ≥ 97 % of 1,000 RPCs through backends failing every other call; a code not listed is not retried", async (t) => {
    await applyAndWait(
      `service: checkout\n${SUBSETS}routes:\n  - match: { prefix: "/" }\n    retry: { on: [unavailable], attempts: 3, backoff: { baseMs: 1, maxMs: 5 } }\n    to: [{ subset: v1 }]\n`,
      (r) => r.ok && r.backend.startsWith("v1"),
    );
    const attemptsSoFar = () => v1.reduce((n, b) => n + b.calls(), 0);
    try {
      for (const b of v1) b.set({ failHalfWith: grpc.status.UNAVAILABLE });
      const before = attemptsSoFar();
      const results = await calls(1000);
      const ok = results.filter((r) => r.ok).length;
      const attempts = attemptsSoFar() - before;
      t.diagnostic(`grpcio, retry on unavailable: ${ok}/1000 succeeded, ${attempts} attempts reached the backends`);
      assert.ok(ok >= 970, `${ok}/1000 succeeded: ${JSON.stringify(byBackend(results))}`);
      assert.ok(attempts > 1000, `the backends saw ${attempts} attempts for 1,000 RPCs: nothing was retried`);

      for (const b of v1) b.set({ failHalfWith: grpc.status.INTERNAL });
      const internalBefore = attemptsSoFar();
      const internal = await calls(200);
      const internalAttempts = attemptsSoFar() - internalBefore;
      const failedInternal = internal.filter((r) => !r.ok && r.code === grpc.status.INTERNAL).length;
      t.diagnostic(`grpcio, INTERNAL (not in 'on'): ${failedInternal}/200 failed, ${internalAttempts} attempts`);
      assert.equal(internalAttempts, 200, "INTERNAL is not retried: one attempt per RPC");
      assert.ok(failedInternal >= 80, `about half fail with INTERNAL: ${JSON.stringify(byBackend(internal))}`);
    } finally {
      for (const b of v1) b.set({});
    }
  });

  test("grpcio policy - fault injection: abort at 100 % gives the configured code without reaching a backend; delay adds its time", async (t) => {
    await applyAndWait(
      `service: checkout\n${SUBSETS}routes:\n  - match: { method: "/steadymesh.test.Greeter/SayHello" }\n    fault: { abort: { code: RESOURCE_EXHAUSTED, percent: 100 } }\n    to: [{ subset: v1 }]\n  - match: { method: "/steadymesh.test.Greeter/SayHelloAgain" }\n    fault: { delay: { ms: 300, percent: 100 } }\n    to: [{ subset: v1 }]\n`,
      (r) => !r.ok && r.code === grpc.status.RESOURCE_EXHAUSTED,
    );
    const before = v1.reduce((n, b) => n + b.calls("SayHello"), 0);
    const aborted = await calls(20);
    t.diagnostic(`grpcio, abort 100 %: ${JSON.stringify(byBackend(aborted))}`);
    assert.ok(aborted.every((r) => !r.ok && r.code === grpc.status.RESOURCE_EXHAUSTED), JSON.stringify(byBackend(aborted)));
    assert.equal(v1.reduce((n, b) => n + b.calls("SayHello"), 0), before, "an aborted call never reaches a backend");
    const delayed = await calls(5, "SayHelloAgain", { deadlineMs: 5000 });
    t.diagnostic(`grpcio, delay 300 ms: calls took ${delayed.map((r) => r.ms.toFixed(0)).join(", ")} ms`);
    assert.ok(delayed.every((r) => r.ok && r.ms >= 290 && r.ms < 1000), JSON.stringify(delayed));
  });
});
