import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { createTally, evaluateSlos, loadScenario, parseScenario, storyFromScenario, type TimelineEntry } from "../../src/lab/index.js";
import type { ControlPlaneProcess } from "../../src/lab/runner/control-plane.js";
import { createTimelineActor } from "../../src/lab/runner/timeline.js";

test("lab phases - a tally counts each phase's attempts by the time they started", () => {
  const tally = createTally({ bucketMs: 1000 });
  for (let t = 0; t < 9000; t += 100) tally.record(t, !(t >= 3000 && t < 6000 && t % 1000 === 0));
  const phases = [{ name: "baseline", startMs: 1000, endMs: 3000 }, { name: "canary", startMs: 3000, endMs: 6000 }, { name: "after", startMs: 6000, endMs: 9000 }];
  const stats = tally.stats([], 9000, [], phases);
  assert.deepEqual(stats.phases, { baseline: { attempts: 20, successes: 20 }, canary: { attempts: 30, successes: 27 }, after: { attempts: 30, successes: 30 } });
  assert.equal(tally.stats([], 9000).phases, undefined, "no phases, no field");
});

test("lab phases - SLOs on a phase use its counts; a phase that never started fails with a reason", () => {
  const scenario = parseScenario(`name: phases
description: Phase SLOs.
speed: 1
end: "+10s"
cohorts: [{ name: a, discovery: xds-default }]
workload: { users: 1, loggedInShare: 0, loginRatePerSec: 1, retry: { baseMs: 1, maxMs: 1, jitter: 0 } }
timeline:
  - { at: "+1s", action: note, note: a, phase: baseline }
  - { at: "+3s", action: note, note: b, phase: canary }
  - { at: "+6s", action: note, note: c, phase: after }
slos:
  - { cohort: a, window: phase, phase: baseline, minSuccess: 0.99 }
  - { cohort: a, window: phase, phase: canary, minSuccess: 0.8, maxSuccess: 0.95 }
  - { cohort: a, window: phase, phase: after, minSuccess: 0.99 }
`);
  const tally = createTally({ bucketMs: 1000 });
  for (let t = 0; t < 9000; t += 100) tally.record(t, !(t >= 3000 && t < 6000 && t % 1000 === 0));
  const all = [{ name: "baseline", startMs: 1000, endMs: 3000 }, { name: "canary", startMs: 3000, endMs: 6000 }, { name: "after", startMs: 6000, endMs: 9000 }];
  const results = evaluateSlos(scenario, { a: tally.stats([], 9000, [], all) }, [], all);
  assert.deepEqual(results.map((r) => [r.window, r.ok, r.attempts, r.actual]), [["phase baseline", true, 20, 1], ["phase canary", true, 30, 0.9], ["phase after", true, 30, 1]]);
  const twoStarted = all.slice(0, 2);
  const missing = evaluateSlos(scenario, { a: tally.stats([], 9000, [], twoStarted) }, [], twoStarted);
  assert.deepEqual(missing.map((r) => r.ok), [true, true, false]);
  assert.match(missing[2]?.reason ?? "", /phase "after" never started/);
});

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

const seen: Seen[] = [];
let refuse = false;
const server = createServer((req: IncomingMessage, res) => {
  let text = "";
  req.on("data", (chunk: Buffer) => (text += chunk.toString()));
  req.on("end", () => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, body: text ? JSON.parse(text) : undefined });
    res.setHeader("content-type", "application/json");
    if (refuse) {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: "routes[0].to[0].subset: must name a subset of this policy (v1), got \"v9\"" }));
      return;
    }
    res.statusCode = req.method === "DELETE" ? 204 : 200;
    res.end(req.method === "DELETE" ? "" : JSON.stringify({ revision: 7 }));
  });
});
let plane: ControlPlaneProcess;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  plane = { name: "primary", adminUrl: `http://127.0.0.1:${port}`, adminHeaders: () => ({ authorization: "Bearer lab-token" }), running: () => true } as unknown as ControlPlaneProcess;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test("lab phases - policy and clear-policy go to the admin API with the operator token; a phase starts once its entry took effect", async () => {
  let nowMs = 0;
  const notes: string[] = [];
  const actor = createTimelineActor({
    controlPlanes: new Map([["primary", plane]]),
    dns: undefined as never,
    fleets: new Map(),
    speed: 1,
    now: () => nowMs,
    later: () => assert.fail("nothing is scheduled"),
    onNote: (n) => notes.push(n),
  });
  const policy = { subsets: [{ name: "v1", match: { version: "1" } }, { name: "v2", match: { version: "2" } }], routes: [{ match: { prefix: "/steadymesh.demo.Login/" }, to: [{ subset: "v1", weight: 95 }, { subset: "v2", weight: 5 }] }] };
  const entry = (e: Record<string, unknown>) => ({ atSec: 0, clock: "00:00:00", ...e }) as unknown as TimelineEntry;
  nowMs = 1000;
  await actor.apply(entry({ action: "note", note: "before", phase: "baseline" }));
  nowMs = 3000;
  await actor.apply(entry({ action: "policy", service: "login", policy, phase: "canary" }));
  nowMs = 6000;
  await actor.apply(entry({ action: "clear-policy", service: "login", phase: "after" }));
  assert.deepEqual(seen.splice(0), [
    { method: "PUT", url: "/v1/services/login/policy", authorization: "Bearer lab-token", body: policy },
    { method: "DELETE", url: "/v1/services/login/policy", authorization: "Bearer lab-token", body: undefined },
  ]);
  assert.deepEqual(actor.phases(9000), [{ name: "baseline", startMs: 1000, endMs: 3000 }, { name: "canary", startMs: 3000, endMs: 6000 }, { name: "after", startMs: 6000, endMs: 9000 }]);
  assert.deepEqual(notes, ["before"]);

  refuse = true;
  nowMs = 7000;
  await assert.rejects(actor.apply(entry({ action: "policy", service: "login", policy, phase: "again" })), /primary control plane: PUT \/v1\/services\/login\/policy: 400 routes\[0\]\.to\[0\]\.subset: must name a subset/);
  assert.deepEqual(actor.phases(9000).map((p) => p.name), ["baseline", "canary", "after"], "a refused policy starts no phase");
  refuse = false;
});

test("lab phases - the report's story tells what each policy entry set", () => {
  const story = storyFromScenario(loadScenario("bad-canary-release"), 4);
  // Its routes take every call (prefix "/"), so no catch-all is left to tell.
  assert.deepEqual(story.timeline.filter((e) => e.action === "policy").map((e) => e.what), [
    "traffic policy of login set: every call → v1 100%",
    "traffic policy of login set: every call → v1 95%, v2 5%",
    "traffic policy of login set: every call → v1 100%",
  ]);
  assert.deepEqual(story.timeline.map((e) => e.label), ["policy login: v1 100", undefined, "policy login: v1 95 / v2 5", "policy login: v1 100"], "only policy entries get a chart label");
  assert.deepEqual(story.timeline.map((e) => e.atMs), [0, 5000, 30_000, 60_000]);
});

test("lab phases - a policy's chart label stays short: narrower routes lead with their path, a third route is counted, clear-policy says deleted", () => {
  const v = (n: string): string => `{ name: ${n}, match: { version: "${n.slice(1)}" } }`;
  const scenario = parseScenario(`name: labels
description: Chart labels.
speed: 1
end: "+60s"
topology:
  metadata: { login: { version: "1" } }
  canary: { service: login, metadata: { version: "2" } }
cohorts: [{ name: stock, discovery: xds-default }]
workload: { users: 1, loggedInShare: 1, loginRatePerSec: 1, retry: { baseMs: 1, maxMs: 1, jitter: 0 } }
timeline:
  - at: "+10s"
    action: policy
    service: login
    policy:
      subsets: [${v("v1")}, ${v("v2")}]
      routes:
        - { match: { headers: { x-canary: { present: true } } }, to: [{ subset: v2 }] }
        - { match: { method: "/steadymesh.demo.Login/Login" }, to: [{ subset: v1, weight: 90 }, { subset: v2, weight: 10 }] }
        - { match: { prefix: "/" }, to: [{ subset: v1 }] }
  - { at: "+20s", action: policy, service: login, policy: { subsets: [${v("v1")}] } }
  - { at: "+30s", action: clear-policy, service: login }
`);
  const story = storyFromScenario(scenario, 1);
  assert.deepEqual(story.timeline.map((e) => e.label), [
    "policy login: every call with header x-canary: v2 100; /steadymesh.demo.Login/Login: v1 90 / v2 10 (+1 route)",
    "policy login: subsets only",
    "policy login deleted",
  ]);
  assert.equal(story.timeline[0]?.what, "traffic policy of login set: every call with header x-canary → v2 100%; /steadymesh.demo.Login/Login → v1 90%, v2 10%; every call → v1 100%");
  assert.equal(story.timeline[1]?.what, "traffic policy of login set: any other call → every instance");
});
