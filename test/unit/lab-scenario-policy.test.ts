import assert from "node:assert/strict";
import { test } from "node:test";
import type { Issue } from "../../src/errors/index.js";
import { ScenarioError, loadScenario, parseScenario } from "../../src/lab/index.js";
import { ValidationError } from "../../src/errors/index.js";
import { parsePolicyBody } from "../../src/registry/index.js";
import { parse as parseYaml } from "yaml";

/** A small valid canary scenario; tests replace parts of it to break one thing at a time. */
const GOOD = `name: canary
description: A canary scenario.
speed: 2
end: "+300s"
topology:
  instances: { login: 2 }
  metadata:
    login: { version: "1" }
  canary: { service: login, metadata: { version: "2" }, fails: UNAVAILABLE }
cohorts:
  - { name: stock, discovery: xds-default }
workload:
  users: 10
  loggedInShare: 0.5
  loginRatePerSec: 2
  retry: { baseMs: 100, maxMs: 1000, jitter: 0.2 }
timeline:
  - { at: "+10s", action: note, note: before, phase: baseline }
  - at: "+60s"
    action: policy
    service: login
    phase: canary
    policy:
      subsets:
        - { name: v1, match: { version: "1" } }
        - { name: v2, match: { version: "2" } }
      routes:
        - match: { prefix: "/steadymesh.demo.Login/", headers: { x-canary: { exact: "yes" } } }
          to: [{ subset: v2 }]
        - match: { method: "/steadymesh.demo.Login/Login" }
          to: [{ subset: v1, weight: 95 }, { subset: v2, weight: 5 }]
          timeoutMs: 2000
          retry: { on: [unavailable], attempts: 3, backoff: { baseMs: 25, maxMs: 250 } }
          fault: { abort: { code: UNAVAILABLE, percent: 1 } }
  - { at: "+200s", action: clear-policy, service: login, phase: after }
slos:
  - { cohort: stock, window: phase, phase: canary, minSuccess: 0.9, maxSuccess: 0.99 }
  - { cohort: stock, window: phase, phase: after, minSuccess: 0.99 }
`;

function issuesOf(text: string): string[] {
  try {
    parseScenario(text, "bad.yaml");
  } catch (err) {
    assert.ok(err instanceof ScenarioError, `expected a ScenarioError, got ${String(err)}`);
    return err.issues.map((i: Issue) => (i.path ? `${i.path}: ${i.message}` : i.message));
  }
  assert.fail("expected a ScenarioError, but the scenario loaded");
}

test("lab scenario - topology metadata, a canary, policy and clear-policy entries, phases and phase SLOs load", () => {
  const scenario = parseScenario(GOOD, "good.yaml");
  assert.deepEqual(scenario.topology.metadata, { login: { version: "1" } });
  assert.deepEqual(scenario.topology.canary, { service: "login", instances: 1, metadata: { version: "2" }, fails: "UNAVAILABLE" });
  const [note, policy, clear] = scenario.timeline;
  assert.equal(note?.phase, "baseline");
  assert.ok(policy?.action === "policy");
  assert.equal(policy.service, "login");
  assert.equal(policy.phase, "canary");
  assert.deepEqual(policy.policy.subsets, [{ name: "v1", match: { version: "1" } }, { name: "v2", match: { version: "2" } }]);
  assert.deepEqual(policy.policy.routes.map((r) => r.to), [[{ subset: "v2", weight: 100 }], [{ subset: "v1", weight: 95 }, { subset: "v2", weight: 5 }]], "a lone target weighs 100");
  assert.deepEqual(policy.policy.routes[0]?.match, { prefix: "/steadymesh.demo.Login/", headers: { "x-canary": { exact: "yes" } } });
  assert.deepEqual(policy.policy.routes[1]?.retry, { on: ["unavailable"], attempts: 3, backoff: { baseMs: 25, maxMs: 250 } });
  assert.deepEqual(clear, { atSec: 200, clock: "00:03:20", action: "clear-policy", service: "login", phase: "after" });
  assert.deepEqual(scenario.slos.map((s) => [s.window, s.phase]), [["phase", "canary"], ["phase", "after"]]);
});

test("lab scenario - bad-canary-release: v2 of login fails, 5% moves to it and back, SLOs per phase", () => {
  const scenario = loadScenario("bad-canary-release");
  assert.deepEqual(scenario.topology.canary, { service: "login", instances: 1, metadata: { version: "2" }, fails: "UNAVAILABLE" });
  assert.deepEqual(scenario.topology.metadata.login, { version: "1" });
  const policies = scenario.timeline.flatMap((e) => (e.action === "policy" ? [[e.phase, e.policy.routes.map((r) => r.to.map((t) => `${t.subset}:${t.weight}`))]] : []));
  assert.deepEqual(policies, [[undefined, [["v1:100"]]], ["canary", [["v1:95", "v2:5"]]], ["rolled-back", [["v1:100"]]]]);
  const phases = scenario.slos.filter((s) => s.window === "phase").map((s) => `${s.cohort} ${s.phase}`);
  assert.deepEqual(phases, ["xds-default baseline", "xds-default canary", "xds-default rolled-back", "steady baseline", "steady canary", "steady rolled-back"]);
  assert.match(scenario.cohorts.find((c) => c.name === "steady")?.explain ?? "", /largest share/);
});

test("lab scenario - a bad policy entry names every problem with its path", () => {
  const cases: Array<[string, string, string[]]> = [
    ["an unknown subset", GOOD.replace("to: [{ subset: v2 }]", "to: [{ subset: v3 }]"), ['timeline[1].policy.routes[0].to[0].subset: unknown subset "v3"; subsets are v1, v2']],
    ["weights that do not add up", GOOD.replace("weight: 5 }", "weight: 10 }"), ["timeline[1].policy.routes[1].to: weights add up to 105; they must add up to 100"]],
    ["a missing weight", GOOD.replace("{ subset: v1, weight: 95 }", "{ subset: v1 }"), ["timeline[1].policy.routes[1].to[0].weight: is required when a route has more than one target; an integer from 0 to 100"]],
    ["a weight over 100", GOOD.replace("to: [{ subset: v2 }]", "to: [{ subset: v2, weight: 150 }]"), ["timeline[1].policy.routes[0].to[0].weight: must be an integer from 0 to 100, got 150"]],
    [
      "an unknown field in a route",
      GOOD.replace("timeoutMs: 2000", "timeout: 2000"),
      ["timeline[1].policy.routes[1].timeout: unknown field; allowed fields are match, to, timeoutMs, retry, fault"],
    ],
    ["an unknown field in a header match", GOOD.replace('exact: "yes"', 'exactly: "yes"'), [
      "timeline[1].policy.routes[0].match.headers.x-canary.exactly: unknown field; allowed fields are exact, prefix, regex, present, invert",
      "timeline[1].policy.routes[0].match.headers.x-canary: must have exactly one of exact, prefix, regex, present; got none",
    ]],
    ["a retry code that does not exist", GOOD.replace("on: [unavailable]", "on: [unavailable, not-found]"), [
      'timeline[1].policy.routes[1].retry.on[1]: must be one of cancelled, deadline-exceeded, internal, resource-exhausted, unavailable, got "not-found"',
    ]],
    ["a bad abort code", GOOD.replace("code: UNAVAILABLE", "code: BROKEN"), [
      `timeline[1].policy.routes[1].fault.abort.code: must be one of CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED, got "BROKEN"`,
    ]],
    ["a bad regex and two header rules", GOOD.replace('exact: "yes"', 'regex: "(", prefix: "y"'), [
      'timeline[1].policy.routes[0].match.headers.x-canary.regex: must be a valid RE2 regular expression, got "(" (Invalid regular expression: /(/u: Unterminated group)',
      "timeline[1].policy.routes[0].match.headers.x-canary: must have exactly one of exact, prefix, regex, present; got prefix, regex",
    ]],
    ["method and prefix", GOOD.replace('match: { method: "/steadymesh.demo.Login/Login" }', 'match: { method: "/steadymesh.demo.Login/Login", prefix: "/" }'), [
      "timeline[1].policy.routes[1].match.prefix: a match takes at most one of method and prefix; leave one out",
    ]],
    ["a bad method path", GOOD.replace('method: "/steadymesh.demo.Login/Login"', 'method: "Login"'), [
      'timeline[1].policy.routes[1].match.method: must be an exact method path /package.Service/Method, got "Login"',
    ]],
    ["a subset no instance is in", GOOD.replace('{ name: v2, match: { version: "2" } }', '{ name: v2, match: { version: "3" } }'), [
      'timeline[1].policy.subsets[1].match: matches no instance of login this topology starts (their metadata: {"version":"1"} and {"version":"2"}); a route to it would be a black hole',
    ]],
    ["a duplicate subset name", GOOD.replace('{ name: v2, match: { version: "2" } }', '{ name: v1, match: { version: "2" } }'), [
      'timeline[1].policy.subsets[1].name: subset "v1" is defined twice; subset names must be unique',
      'timeline[1].policy.routes[0].to[0].subset: unknown subset "v2"; subsets are v1',
      'timeline[1].policy.routes[1].to[1].subset: unknown subset "v2"; subsets are v1',
    ]],
    ["an unknown policy service", GOOD.replace("service: login\n    phase", "service: billing\n    phase"), [
      'timeline[1].service: must be a demo service, one of accounts, login, playback, got "billing"',
    ]],
  ];
  for (const [what, text, expected] of cases) assert.deepEqual(issuesOf(text), expected, what);
});

/** The registry's issues for `policy`, as `path: message` lines below `timeline[1].policy`. */
function registryIssuesOf(policy: unknown): string[] {
  try {
    parsePolicyBody("login", policy);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.issues.map((i: Issue) => `timeline[1].policy${i.path === "" ? "" : `.${i.path}`}: ${i.message}`);
  }
  return [];
}

test("lab scenario - a policy entry is checked by the registry's own parser: same problems, same words, same canonical policy", () => {
  const breakages: Array<[string, string]> = [
    ["to: [{ subset: v2 }]", "to: [{ subset: v3, weight: 7 }]"],
    ["timeoutMs: 2000", "timeoutMs: 0\n          extra: 1"],
    ['exact: "yes"', 'regex: "(?=a)"'],
    ["attempts: 3", "attempts: 9"],
    ["percent: 1", "percent: 100.5"],
  ];
  for (const [from, to] of breakages) {
    const text = GOOD.replace(from, to);
    const raw = (parseYaml(text) as { timeline: Array<{ policy?: unknown }> }).timeline[1]?.policy;
    const expected = registryIssuesOf(raw);
    assert.ok(expected.length > 0, `${to}: the registry finds a problem`);
    assert.deepEqual(issuesOf(text), expected, to);
  }
  const raw = (parseYaml(GOOD) as { timeline: Array<{ policy?: unknown }> }).timeline[1]?.policy;
  const entry = parseScenario(GOOD, "good.yaml").timeline[1];
  assert.ok(entry?.action === "policy");
  assert.deepEqual(entry.policy, parsePolicyBody("login", raw).policy);
});

test("lab scenario - the policy envelope: an object {subsets, routes}; the entry's service names the service", () => {
  const cases: Array<[string, string, string[]]> = [
    ["a service key", GOOD.replace("    policy:\n      subsets:", "    policy:\n      service: login\n      subsets:"), [
      "timeline[1].policy.service: unknown field; allowed fields are subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover (the entry's own service field names the service)",
    ]],
    ["another key beside a bad route", GOOD.replace("    policy:\n      subsets:", "    policy:\n      rules: []\n      subsets:").replace("weight: 5 }", "weight: 6 }"), [
      "timeline[1].policy.rules: unknown field; allowed fields are subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover",
      "timeline[1].policy.routes[1].to: weights add up to 101; they must add up to 100",
    ]],
    ["no policy", GOOD.replace(/ {4}policy:\n[\s\S]*?(?= {2}- \{ at: "\+200s")/, ""), ["timeline[1].policy: must be an object {subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover}, got nothing"]],
    ["a list", GOOD.replace(/ {4}policy:\n[\s\S]*?(?= {2}- \{ at: "\+200s")/, "    policy: [1]\n"), ["timeline[1].policy: must be an object {subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover}, got [1]"]],
  ];
  for (const [what, text, expected] of cases) assert.deepEqual(issuesOf(text), expected, what);
});

test("lab scenario - the canary is checked: metadata that tells it apart, fails only for login, string values", () => {
  const cases: Array<[string, string, string[]]> = [
    ["fails on a service that cannot fail", GOOD.replace("canary: { service: login,", "canary: { service: accounts,"), [
      'topology.canary.fails: is only allowed for service "login", got service "accounts"',
      'timeline[1].policy.subsets[1].match: matches no instance of login this topology starts (their metadata: {"version":"1"}); a route to it would be a black hole',
    ]],
    ["the same metadata as the service", GOOD.replace('metadata: { version: "2" }, fails', 'metadata: { version: "1" }, fails'), [
      'topology.canary.metadata: must differ from topology.metadata.login ({"version":"1"}) in some pair, so a policy subset can tell the canary apart, got {"version":"1"}',
      'timeline[1].policy.subsets[1].match: matches no instance of login this topology starts (their metadata: {"version":"1"} and {"version":"1"}); a route to it would be a black hole',
    ]],
    ["a number where a string goes", GOOD.replace('login: { version: "1" }', "login: { version: 1 }"), [
      'topology.metadata.login.version: must be a string (quote numbers: version: "2"), got 1',
    ]],
    ["fails OK", GOOD.replace("fails: UNAVAILABLE", "fails: OK"), ['topology.canary.fails: must be a failing gRPC status, not "OK"; leave it out for a canary that works']],
    ["an unknown canary field", GOOD.replace("fails: UNAVAILABLE", "fails: UNAVAILABLE, share: 5"), ["topology.canary.share: unknown field; allowed fields are service, instances, metadata, fails"]],
  ];
  for (const [what, text, expected] of cases) assert.deepEqual(issuesOf(text), expected, what);
});

test("lab scenario - phases: started once, named by phase SLOs only, and clear-policy needs a policy", () => {
  const cases: Array<[string, string, string[]]> = [
    ["a phase started twice", GOOD.replace("phase: after", "phase: canary"), [
      'timeline[2].phase: "canary" already starts at timeline[1]; each phase starts once',
      'slos[1].phase: must name a phase a timeline entry starts (baseline, canary, canary), got "after"',
    ]],
    ["an unknown phase", GOOD.replace("phase: canary, minSuccess", "phase: cannary, minSuccess"), ['slos[0].phase: must name a phase a timeline entry starts (baseline, canary, after), got "cannary"']],
    ["window phase without a phase", GOOD.replace("window: phase, phase: after,", "window: phase,"), ["slos[1].phase: is required with window \"phase\"; must name a phase of the timeline (baseline, canary, after)"]],
    ["a phase with another window", GOOD.replace("window: phase, phase: after,", "window: whole, phase: after,"), ['slos[1].phase: is only allowed with window "phase", got window "whole"']],
    ["warm gateways in a phase", GOOD.replace("phase: after, minSuccess: 0.99", "phase: after, minSuccess: 0.99, gateways: warm"), [
      'slos[1].gateways: must be "all" with window "phase" (cold starts are told apart only inside disruption windows)',
    ]],
    ["during-fault with only policies", GOOD.replace("window: phase, phase: after,", "window: during-fault,"), ['slos[1].window: "during-fault" needs a fault, kill or stop-dns in the timeline; use "whole"']],
    ["clear-policy with no policy", `${GOOD.slice(0, GOOD.indexOf("timeline:"))}timeline:
  - { at: "+10s", action: note, note: before, phase: canary }
  - { at: "+200s", action: clear-policy, service: login, phase: after }
slos:
  - { cohort: stock, window: phase, phase: after, minSuccess: 0.99 }
`, ['timeline[1]: clear-policy at "+200s": service "login" has no policy set by an earlier policy entry']],
  ];
  for (const [what, text, expected] of cases) assert.deepEqual(issuesOf(text), expected, what);
});
