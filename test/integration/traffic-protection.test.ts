/**
 * Traffic protection (issue 19) with a STOCK @grpc/grpc-js-xds client and
 * three real backends of `checkout`: outlier detection (gRFC A50), circuit
 * breaking (A32) and ring hash (A42), each set only through
 * `steadymesh policy apply -f FILE` against a live control plane with the
 * push guard on. Each test waits until the client has ACKed the Cluster
 * (and, for ring hash, the RouteConfiguration) of the generation its policy
 * made, then measures what the client does. Where the stock client does not
 * do what the policy field intends, the test asserts what it does, labelled
 * MEASURED FACT.
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

const NODE_ID = "protection-client-1";
/** How long a pushed policy may take to reach the client. */
const PUSH_DEADLINE_MS = 15_000;
const IDS = ["p-a", "p-b", "p-c"] as const;

type ShortType = "CDS" | "RDS";

describe("traffic protection with a stock grpc-js-xds client", () => {
  let cp: TestControlPlane;
  let dir: string;
  let backends: PolicyBackend[];
  let client: PolicyClient;
  let pc: PolicyCli;

  /** `steadymesh policy apply -f FILE` of `yaml`, in-process; the id of the generation it made, once pushed. */
  const pushedGeneration = async (revision: number) => (await pc.generationOf(revision, ["pushed"])).id;
  const apply = (yaml: string) => pc.apply(yaml);

  /** A new channel with its own xDS client (a bootstrap of its own, node `nodeId`), once it has answered a call. */
  async function openClient(nodeId: string): Promise<PolicyClient> {
    const bootstrap = buildBootstrap({ nodeId, xds: [`127.0.0.1:${cp.xds.port}`] });
    const opened = policyClient("xds:///checkout", { [BOOTSTRAP_KEY]: JSON.stringify(bootstrap) });
    const end = Date.now() + PUSH_DEADLINE_MS;
    while (!(await callMethod(opened, "SayHello")).ok) assert.ok(Date.now() < end, `${nodeId} never reached checkout`);
    return opened;
  }

  /** Waits until the long-lived client has ACKed generation `id` for each of `types` (calls keep its stream busy meanwhile). */
  async function untilAcked(id: number, types: readonly ShortType[]): Promise<void> {
    const end = Date.now() + PUSH_DEADLINE_MS;
    for (;;) {
      const { clients } = (await cp.api("GET", "/v1/clients")).body as { clients: Array<{ nodeId: string; types: Record<string, { ackedGeneration?: number }> }> };
      const mine = clients.filter((c) => c.nodeId === NODE_ID).at(-1);
      const behind = types.filter((type) => (mine?.types[type]?.ackedGeneration ?? 0) < id);
      if (behind.length === 0) return;
      assert.ok(Date.now() < end, `the client did not ACK ${behind.join(", ")} of generation ${id} within ${PUSH_DEADLINE_MS} ms`);
      await callMethod(client, "SayHello", { deadlineMs: 500 });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Applies the policy `fields` of `checkout` and waits until the client runs on it. */
  async function applyAndWait(fields: string, types: readonly ShortType[] = ["CDS"]): Promise<void> {
    await untilAcked(await pushedGeneration(await apply(`service: checkout\n${fields}`)), types);
  }

  async function calls(count: number, headers?: Record<string, string>): Promise<Outcome[]> {
    const results: Outcome[] = [];
    for (let i = 0; i < count; i++) results.push(await callMethod(client, "SayHello", { ...(headers && { headers }) }));
    return results;
  }

  const byBackend = (results: readonly Outcome[]): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const r of results) {
      const key = r.ok ? r.backend : `failed ${grpc.status[r.code]}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };

  const resetBackends = () => {
    for (const backend of backends) backend.set({});
  };

  before(async () => {
    const xds = await import("@grpc/grpc-js-xds");
    xds.register();
    dir = await mkdtemp(join(tmpdir(), "steadymesh-protection-"));
    cp = await startControlPlane();
    pc = createPolicyCli(cp, dir, PUSH_DEADLINE_MS);
    backends = await Promise.all(IDS.map((id) => startPolicyBackend(id)));
    for (const backend of backends) await cp.register("checkout", backend.id, backend.port);
    client = await openClient(NODE_ID);
  });

  after(async () => {
    client?.close();
    await Promise.all((backends ?? []).map((backend) => backend.stop()));
    await cp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The outcomes of calls until `streak` succeed in a row (the failing backend is out of the rotation), and when each failure ended. */
  async function untilEjected(on: PolicyClient, streak: number, limitMs: number): Promise<{ outcomes: Outcome[]; failedAt: number[] }> {
    const outcomes: Outcome[] = [];
    const failedAt: number[] = [];
    const started = performance.now();
    for (let run = 0; run < streak; ) {
      const r = await callMethod(on, "SayHello");
      outcomes.push(r);
      if (r.ok) run++;
      else {
        run = 0;
        failedAt.push(performance.now());
      }
      if (performance.now() - started > limitMs) break;
    }
    return { outcomes, failedAt };
  }

  const FAILURE_PERCENTAGE = (intervalMs: number, baseEjectionMs: number) =>
    `outlierDetection: { intervalMs: ${intervalMs}, baseEjectionMs: ${baseEjectionMs}, maxEjectionPercent: 50,\n` +
    "                    failurePercentage: { threshold: 50, minimumHosts: 3, requestVolume: 10 } }\n";

  test("protection - MEASURED FACT: a client that already has the Cluster without outlier detection ACKs the one with it but does not apply it (grpc-js-xds 1.14.1)", async (t) => {
    // grpc-js-xds compares a new Cluster with its cached one key by key over the OLD value only
    // (xds-resource-type.js deepEqual), and a Cluster without outlier_detection decodes to
    // outlierDetectionUpdate {child_policy: []}: the new one looks equal, and no watcher is told.
    await applyAndWait(FAILURE_PERCENTAGE(100, 3000));
    const failing = backends[2] as PolicyBackend;
    failing.set({ failAllWith: grpc.status.UNAVAILABLE });
    try {
      await calls(100);
      await new Promise((r) => setTimeout(r, 500));
      const later = await calls(150);
      const failed = later.filter((r) => !r.ok).length;
      t.diagnostic(`MEASURED FACT: the long-lived client, 5 intervals after ACKing outlier detection: ${JSON.stringify(byBackend(later))}`);
      assert.ok(failed >= 40 && failed <= 60, `${failed}/150 failed: ${JSON.stringify(byBackend(later))}`);
    } finally {
      resetBackends();
    }
  });

  test("protection - outlier detection: a backend failing every call is ejected, ≥ 99 % of later RPCs succeed, and it returns after the ejection time", async (t) => {
    const BASE_EJECTION_MS = 3000;
    const INTERVAL_MS = 200;
    await applyAndWait(FAILURE_PERCENTAGE(INTERVAL_MS, BASE_EJECTION_MS));
    // A client that gets the Cluster with outlier detection on its first fetch (see the MEASURED FACT above).
    const fresh = await openClient("protection-client-2");
    const failing = backends[2] as PolicyBackend;
    failing.set({ failAllWith: grpc.status.UNAVAILABLE });
    try {
      const detectStart = performance.now();
      const detection = await untilEjected(fresh, 50, 10_000);
      assert.equal(detection.outcomes.slice(-50).filter((r) => r.ok).length, 50, `not ejected within 10 s: ${JSON.stringify(byBackend(detection.outcomes))}`);
      const lastFailure = detection.failedAt.at(-1) ?? detectStart;
      const later: Outcome[] = [];
      for (let i = 0; i < 500; i++) later.push(await callMethod(fresh, "SayHello"));
      const ok = later.filter((r) => r.ok).length;
      t.diagnostic(
        `outlier detection: ejected ${(lastFailure - detectStart).toFixed(0)} ms after the backend began failing (${detection.failedAt.length} failed calls of ${detection.outcomes.length - 50}: ${JSON.stringify(byBackend(detection.outcomes))}); then ${ok}/500 succeeded: ${JSON.stringify(byBackend(later))}`,
      );
      assert.ok(ok >= 495, `${ok}/500 later RPCs succeeded, wanted ≥ 99 %: ${JSON.stringify(byBackend(later))}`);

      // The backend recovers; once its ejection time is over, the client sends it calls again.
      failing.set({});
      const end = lastFailure + BASE_EJECTION_MS + 5000;
      let returnedAt: number | undefined;
      while (returnedAt === undefined && performance.now() < end) {
        const r = await callMethod(fresh, "SayHello");
        if (r.ok && r.backend === failing.id) returnedAt = performance.now() - r.ms;
        else await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(returnedAt !== undefined, `the ejected backend got no call within ${BASE_EJECTION_MS + 5000} ms of its last failure`);
      const back = returnedAt - lastFailure;
      t.diagnostic(`outlier detection: the ejected backend served again ${back.toFixed(0)} ms after its last failure (baseEjectionMs ${BASE_EJECTION_MS}, intervalMs ${INTERVAL_MS})`);
      assert.ok(back >= BASE_EJECTION_MS - 100, `returned after ${back.toFixed(0)} ms, before its ejection time of ${BASE_EJECTION_MS} ms`);
      assert.ok(back <= BASE_EJECTION_MS + 2 * INTERVAL_MS + 1000, `returned only after ${back.toFixed(0)} ms`);
    } finally {
      resetBackends();
      fresh.close();
    }
  });

  test("protection - MEASURED FACT: consecutiveErrors alone ejects nothing in stock grpc-js-xds 1.14 (A50 has no consecutive-errors detector)", async (t) => {
    await applyAndWait("outlierDetection: { consecutiveErrors: 5, intervalMs: 100, baseEjectionMs: 3000, maxEjectionPercent: 50 }\n");
    const fresh = await openClient("protection-client-3");
    const failing = backends[2] as PolicyBackend;
    failing.set({ failAllWith: grpc.status.UNAVAILABLE });
    try {
      const first: Outcome[] = [];
      for (let i = 0; i < 150; i++) first.push(await callMethod(fresh, "SayHello"));
      await new Promise((r) => setTimeout(r, 300));
      const later: Outcome[] = [];
      for (let i = 0; i < 150; i++) later.push(await callMethod(fresh, "SayHello"));
      const failedLater = later.filter((r) => !r.ok).length;
      t.diagnostic(`MEASURED FACT consecutiveErrors: 5, one backend failing every call: ${JSON.stringify(byBackend(first))}, then after 3 more intervals ${JSON.stringify(byBackend(later))}`);
      // Round robin over 3 backends keeps sending a third of the calls to the failing one: it is never ejected.
      assert.ok(failedLater >= 40 && failedLater <= 60, `${failedLater}/150 failed after 3 intervals: ${JSON.stringify(byBackend(later))}`);
    } finally {
      resetBackends();
      fresh.close();
    }
  });

  /** `count` calls to slow backends, each started `gapMs` after the previous one (0: all in one tick), all in flight together. */
  async function inFlight(count: number, gapMs: number): Promise<Outcome[]> {
    const pending: Promise<Outcome>[] = [];
    for (let i = 0; i < count; i++) {
      pending.push(callMethod(client, "SayHello", { deadlineMs: 5000 }));
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    }
    return Promise.all(pending);
  }

  test("protection - circuit breaking: with maxRequests 10 and 50 RPCs in flight to a slow backend, the excess fails at once with UNAVAILABLE and the rest succeed", async (t) => {
    await applyAndWait("maxRequests: 10\n");
    for (const backend of backends) backend.set({ delayMs: 500 });
    try {
      // 50 calls started 2 ms apart: all 50 are in flight together (the backends answer after 500 ms).
      const results = await inFlight(50, 2);
      const succeeded = results.filter((r) => r.ok);
      const rejected = results.filter((r) => !r.ok);
      const slowest = Math.max(...rejected.map((r) => r.ms));
      t.diagnostic(
        `circuit breaking: ${succeeded.length} succeeded (${Math.min(...succeeded.map((r) => r.ms)).toFixed(0)}–${Math.max(...succeeded.map((r) => r.ms)).toFixed(0)} ms), ${rejected.length} failed ${JSON.stringify(byBackend(rejected))} within ${slowest.toFixed(0)} ms (median ${[...rejected.map((r) => r.ms)].sort((a, b) => a - b)[rejected.length >> 1]?.toFixed(1)} ms); details: ${JSON.stringify((rejected[0] as { details?: string } | undefined)?.details)}`,
      );
      assert.equal(succeeded.length, 10, JSON.stringify(byBackend(results)));
      assert.equal(rejected.length, 40, JSON.stringify(byBackend(results)));
      assert.ok(rejected.every((r) => !r.ok && r.code === grpc.status.UNAVAILABLE), JSON.stringify(byBackend(rejected)));
      assert.ok(slowest < 250, `the excess failed after up to ${slowest.toFixed(0)} ms; the backends answer after 500 ms`);
      assert.ok(succeeded.every((r) => r.ms >= 490), "the admitted calls waited for the slow backends");

      // MEASURED FACT: grpc-js counts a call as in flight only once its (asynchronous) call-credentials
      // step is done, after the pick: calls picked in one event-loop tick all see the count before any of them.
      const burst = await inFlight(50, 0);
      const burstOk = burst.filter((r) => r.ok).length;
      t.diagnostic(`MEASURED FACT circuit breaking: 50 calls started in one tick: ${burstOk} admitted, ${JSON.stringify(byBackend(burst))}`);
      assert.ok(burstOk > 10, `a burst of 50 in one tick: ${burstOk} admitted, ${JSON.stringify(byBackend(burst))}`);
    } finally {
      resetBackends();
    }
  });

  test("protection - ring hash: one x-user value reaches one backend for 200 calls; different values spread over every backend", async (t) => {
    await applyAndWait("loadBalancing: { policy: ring_hash, hashOn: { header: x-user } }\n", ["CDS", "RDS"]);
    const same = await calls(200, { "x-user": "alice" });
    assert.deepEqual(Object.keys(byBackend(same)).length, 1, `alice: ${JSON.stringify(byBackend(same))}`);
    assert.ok(same.every((r) => r.ok), JSON.stringify(byBackend(same)));
    const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const chosen = new Map<string, string>();
    for (const user of users) {
      const [first, second] = await calls(2, { "x-user": user });
      assert.ok(first?.ok && second?.ok, `${user}: ${JSON.stringify([first, second])}`);
      assert.equal(first.backend, second.backend, `${user} moved between backends`);
      chosen.set(user, first.backend);
    }
    const spread: Record<string, number> = {};
    for (const backend of chosen.values()) spread[backend] = (spread[backend] ?? 0) + 1;
    t.diagnostic(`ring hash: alice → ${JSON.stringify(byBackend(same))}; 60 users → ${JSON.stringify(spread)}`);
    assert.deepEqual(Object.keys(spread).sort(), [...IDS], `60 users reached ${JSON.stringify(spread)}`);
  });
});
