import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError, type Issue } from "../../src/errors/index.js";
import { parsePolicyBody, parsePolicyDocuments, parsePolicyList } from "../../src/registry/index.js";

const SUBSETS = `subsets:
  - { name: v1, match: { version: "1" } }
  - { name: v2, match: { version: "2" } }
`;

function issuesOf(run: () => unknown): readonly Issue[] {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.issues;
  }
  assert.fail("expected a ValidationError");
}

/** The issues of a one-document file with the given routes (YAML, indented as list items). */
function routeIssues(routes: string, subsets = SUBSETS): readonly Issue[] {
  return issuesOf(() => parsePolicyDocuments(`service: checkout\n${subsets}routes:\n${routes}`, "policy.yaml"));
}

function assertIssue(issues: readonly Issue[], path: string, message: RegExp): void {
  const found = issues.find((issue) => issue.path === path);
  assert.ok(found, `no issue at ${path}; got ${JSON.stringify(issues)}`);
  assert.match(found.message, message);
}

describe("policy-validate - a valid file", () => {
  it("policy-validate - parses the DESIGN example, fills a lone target's weight and freezes the result", () => {
    const [document, ...rest] = parsePolicyDocuments(
      `service: checkout
${SUBSETS}routes:
  - match: { headers: { x-canary: { exact: "yes" } } }
    to: [{ subset: v2 }]
  - match: { method: "/shop.Checkout/Pay" }
    timeoutMs: 2000
    retry: { on: [unavailable, resource-exhausted], attempts: 3, backoff: { baseMs: 25, maxMs: 250 } }
    to: [{ subset: v1, weight: 95 }, { subset: v2, weight: 5 }]
    fault: { delay: { ms: 200, percent: 10 }, abort: { code: UNAVAILABLE, percent: 1 } }
`,
      "policy.yaml",
    );
    assert.equal(rest.length, 0);
    assert.ok(document);
    assert.equal(document.service, "checkout");
    assert.deepEqual(document.policy.routes[0]?.to, [{ subset: "v2", weight: 100 }]);
    assert.deepEqual(document.policy.routes[1]?.retry, { on: ["unavailable", "resource-exhausted"], attempts: 3, backoff: { baseMs: 25, maxMs: 250 } });
    assert.equal(document.policy.routes[1]?.fault?.abort?.code, "UNAVAILABLE");
    assert.ok(Object.isFrozen(document.policy.routes[1]?.to[0]));
    assert.ok(Object.isFrozen(document.policy.subsets[0]?.match));
  });

  it("policy-validate - reads JSON and several YAML documents, skipping empty ones", () => {
    const json = parsePolicyDocuments(JSON.stringify({ service: "a", subsets: [{ name: "v1", match: { v: "1" } }], routes: [{ to: [{ subset: "v1" }] }] }), "a.json");
    assert.equal(json[0]?.service, "a");
    const many = parsePolicyDocuments("service: a\n---\nservice: b\n---\n", "two.yaml");
    assert.deepEqual(many.map((d) => d.service), ["a", "b"]);
    assert.deepEqual(many[1]?.policy, { subsets: [], routes: [] });
  });

  it("policy-validate - accepts every header rule, prefix matches and a zero weight", () => {
    const [document] = parsePolicyDocuments(
      `service: s
${SUBSETS}routes:
  - match: { prefix: "/shop.", headers: { a: { prefix: "x" }, b: { regex: "^v[0-9]+$", invert: true }, c: { present: true } } }
    to: [{ subset: v1, weight: 0 }, { subset: v2, weight: 100 }]
`,
      "p.yaml",
    );
    assert.deepEqual(document?.policy.routes[0]?.match.headers?.["b"], { regex: "^v[0-9]+$", invert: true });
  });
});

describe("policy-validate - each rule", () => {
  it("policy-validate - service and subset names are DNS labels, unique, with a non-empty match", () => {
    const issues = issuesOf(() => parsePolicyDocuments(`service: Check_out\nsubsets: [{ name: V1, match: {} }, { name: v2, match: { version: "2" } }, { name: v2, match: { a: "b" } }]\n`, "p.yaml"));
    assertIssue(issues, "service", /DNS label/);
    assertIssue(issues, "subsets[0].name", /DNS label.*"V1"/);
    assertIssue(issues, "subsets[0].match", /at least one metadata key/);
    assertIssue(issues, "subsets[2].name", /defined twice/);
  });

  it("policy-validate - a match takes method or prefix, in their forms", () => {
    assertIssue(routeIssues(`  - { match: { method: "/shop.Checkout/Pay", prefix: "/shop" }, to: [{ subset: v1 }] }\n`), "routes[0].match.prefix", /at most one of method and prefix/);
    assertIssue(routeIssues(`  - { match: { method: "shop.Checkout/Pay" }, to: [{ subset: v1 }] }\n`), "routes[0].match.method", /\/package\.Service\/Method/);
    assertIssue(routeIssues(`  - { match: { prefix: "shop" }, to: [{ subset: v1 }] }\n`), "routes[0].match.prefix", /starting with '\/'/);
  });

  it("policy-validate - header names are lowercase, never pseudo-headers, with exactly one rule", () => {
    assertIssue(routeIssues(`  - { match: { headers: { X-Canary: { exact: "1" } } }, to: [{ subset: v1 }] }\n`), "routes[0].match.headers", /"X-Canary" is not allowed.*lowercase/);
    assertIssue(routeIssues(`  - { match: { headers: { ":path": { exact: "1" } } }, to: [{ subset: v1 }] }\n`), "routes[0].match.headers", /":path".*pseudo-headers/);
    assertIssue(routeIssues(`  - { match: { headers: { a: { exact: "1", prefix: "x" } } }, to: [{ subset: v1 }] }\n`), "routes[0].match.headers.a", /exactly one of.*got exact, prefix/);
    assertIssue(routeIssues(`  - { match: { headers: { a: { invert: true } } }, to: [{ subset: v1 }] }\n`), "routes[0].match.headers.a", /exactly one of.*got none/);
    assertIssue(routeIssues(`  - { match: { headers: { a: { present: false } } }, to: [{ subset: v1 }] }\n`), "routes[0].match.headers.a.present", /true/);
  });

  it("policy-validate - regexes must compile and stay inside RE2", () => {
    for (const [regex, why] of [["(a", /valid RE2/], ["(?=a)b", /lookahead/], ["(?<!a)b", /lookbehind/], ["(a)\\\\1", /backreferences/], ["(?<n>a)\\\\k<n>", /named backreferences/]] as const) {
      assertIssue(routeIssues(`  - { match: { headers: { a: { regex: "${regex}" } } }, to: [{ subset: v1 }] }\n`), "routes[0].match.headers.a.regex", why);
    }
  });

  it("policy-validate - targets name known subsets once, weights are integers 0-100 adding up to 100", () => {
    assertIssue(routeIssues(`  - to: [{ subset: v3 }]\n`), "routes[0].to[0].subset", /unknown subset "v3"; subsets are v1, v2/);
    assertIssue(routeIssues(`  - to: [{ subset: v1, weight: 50 }, { subset: v1, weight: 50 }]\n`), "routes[0].to[1].subset", /listed twice/);
    assertIssue(routeIssues(`  - to: [{ subset: v1, weight: 50 }, { subset: v2 }]\n`), "routes[0].to[1].weight", /required when a route has more than one target/);
    assertIssue(routeIssues(`  - to: [{ subset: v1, weight: 90 }, { subset: v2, weight: 5 }]\n`), "routes[0].to", /weights add up to 95; they must add up to 100/);
    assertIssue(routeIssues(`  - to: [{ subset: v1, weight: 50.5 }, { subset: v2, weight: 49.5 }]\n`), "routes[0].to[0].weight", /integer from 0 to 100/);
    assertIssue(routeIssues(`  - to: [{ subset: v1, weight: 101 }]\n`), "routes[0].to[0].weight", /integer from 0 to 100/);
    assertIssue(routeIssues(`  - to: []\n`), "routes[0].to", /at least one target/);
    assertIssue(routeIssues(`  - match: {}\n`), "routes[0].to", /is required/);
  });

  it("policy-validate - timeout, retry and backoff ranges", () => {
    assertIssue(routeIssues(`  - { to: [{ subset: v1 }], timeoutMs: 0 }\n`), "routes[0].timeoutMs", /integer from 1 to 3600000/);
    const issues = routeIssues(`  - { to: [{ subset: v1 }], retry: { on: [], attempts: 6, backoff: { baseMs: 100, maxMs: 50 } } }\n`);
    assertIssue(issues, "routes[0].retry.on", /at least one of cancelled, deadline-exceeded, internal, resource-exhausted, unavailable/);
    assertIssue(issues, "routes[0].retry.attempts", /integer from 2 to 5/);
    assertIssue(issues, "routes[0].retry.backoff.maxMs", /at least baseMs \(100\)/);
    assertIssue(routeIssues(`  - { to: [{ subset: v1 }], retry: { on: [UNAVAILABLE], attempts: 2 } }\n`), "routes[0].retry.on[0]", /one of cancelled.*got "UNAVAILABLE"/);
  });

  it("policy-validate - faults need delay or abort, with codes and percents in range", () => {
    assertIssue(routeIssues(`  - { to: [{ subset: v1 }], fault: {} }\n`), "routes[0].fault", /delay, abort or both/);
    const issues = routeIssues(`  - { to: [{ subset: v1 }], fault: { delay: { ms: -1, percent: 101 }, abort: { code: unavailable, percent: 1 } } }\n`);
    assertIssue(issues, "routes[0].fault.delay.ms", /integer from 0 to 3600000/);
    assertIssue(issues, "routes[0].fault.delay.percent", /number from 0 to 100/);
    assertIssue(issues, "routes[0].fault.abort.code", /one of CANCELLED.*UNAVAILABLE/);
    assertIssue(routeIssues(`  - { to: [{ subset: v1 }], fault: { abort: { code: UNAVAILABLE, percent: 0.00001 } } }\n`), "routes[0].fault.abort.percent", /steps of 0\.0001/);
    assert.doesNotThrow(() => parsePolicyBody("s", { subsets: [{ name: "v1", match: { a: "1" } }], routes: [{ to: [{ subset: "v1" }], fault: { abort: { code: "UNAVAILABLE", percent: 0.0001 } } }] }));
  });

  it("policy-validate - unknown fields are rejected at every level, naming the allowed ones", () => {
    const issues = issuesOf(() =>
      parsePolicyDocuments(
        `service: s\nextra: 1\nsubsets: [{ name: v1, match: { a: "1" }, labels: {} }]\nroutes:\n  - { match: { path: "/x" }, to: [{ subset: v1, share: 1 }], retry: { on: [internal], attempts: 2, jitter: 1 } }\n`,
        "p.yaml",
      ),
    );
    assertIssue(issues, "extra", /unknown field; allowed fields are service, subsets, routes/);
    assertIssue(issues, "subsets[0].labels", /allowed fields are name, match/);
    assertIssue(issues, "routes[0].match.path", /allowed fields are method, prefix, headers/);
    assertIssue(issues, "routes[0].to[0].share", /allowed fields are subset, weight/);
    assertIssue(issues, "routes[0].retry.jitter", /allowed fields are on, attempts, backoff/);
  });

  it("policy-validate - caps on subsets, routes, targets and headers", () => {
    const subsets = Array.from({ length: 65 }, (_, i) => ({ name: `s${i}`, match: { v: String(i) } }));
    assertIssue(issuesOf(() => parsePolicyBody("s", { subsets, routes: [] })), "subsets", /at most 64 subsets/);
    const routes = Array.from({ length: 257 }, () => ({ to: [{ subset: "s0" }] }));
    assertIssue(issuesOf(() => parsePolicyBody("s", { subsets: subsets.slice(0, 1), routes })), "routes", /at most 256 routes/);
    const headers = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`h${i}`, { present: true }]));
    assertIssue(issuesOf(() => parsePolicyBody("s", { subsets: subsets.slice(0, 1), routes: [{ match: { headers }, to: [{ subset: "s0" }] }] })), "routes[0].match.headers", /at most 32 entries/);
    const targets = subsets.map((s) => ({ subset: s.name, weight: 0 }));
    assertIssue(issuesOf(() => parsePolicyBody("s", { subsets, routes: [{ to: targets }] })), "routes[0].to", /at most 64 targets/);
  });
});

describe("policy-validate - several problems at once", () => {
  it("policy-validate - one issue per problem, each naming its path with the document index", () => {
    const issues = issuesOf(() =>
      parsePolicyDocuments(
        `service: web
---
service: checkout
${SUBSETS}routes:
  - match: { headers: { x-canary: { regex: "(a" } } }
    to: [{ subset: v3 }]
    colour: red
  - retry: { on: [flaky], attempts: 3 }
    to: [{ subset: v1, weight: 90 }, { subset: v2, weight: 5 }]
`,
        "policy.yaml",
      ),
    );
    assert.deepEqual(
      issues.map((i) => i.path).sort(),
      ["documents[1].routes[0].colour", "documents[1].routes[0].match.headers.x-canary.regex", "documents[1].routes[0].to[0].subset", "documents[1].routes[1].retry.on[0]", "documents[1].routes[1].to"],
    );
    assertIssue(issues, "documents[1].routes[0].to[0].subset", /unknown subset "v3"; subsets are v1, v2/);
    assertIssue(issues, "documents[1].routes[1].to", /weights add up to 95/);
    assertIssue(issues, "documents[1].routes[1].retry.on[0]", /got "flaky"/);
  });

  it("policy-validate - bad YAML, an empty file and a service twice are refused", () => {
    assertIssue(issuesOf(() => parsePolicyDocuments("service: [", "p.yaml")), "documents[0]", /p\.yaml.*not valid YAML/);
    assert.match(issuesOf(() => parsePolicyDocuments("\n", "empty.yaml"))[0]?.message ?? "", /empty\.yaml holds no policy document/);
    assertIssue(issuesOf(() => parsePolicyDocuments("service: a\n---\nservice: a\n", "p.yaml")), "documents[1].service", /already has a policy in documents\[0\]/);
    assertIssue(issuesOf(() => parsePolicyDocuments("- 1\n", "p.yaml")), "", /an object \{service, subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover\}/);
  });
});

describe("policy-validate - API bodies", () => {
  it("policy-validate - a body's service key must equal the path's", () => {
    assert.equal(parsePolicyBody("a", { service: "a", subsets: [], routes: [] }).service, "a");
    assertIssue(issuesOf(() => parsePolicyBody("a", { service: "b" })), "service", /must equal the service in the URL/);
    assertIssue(issuesOf(() => parsePolicyBody("a", "nope")), "", /an object/);
  });

  it("policy-validate - a list body names each document by index", () => {
    assert.equal(parsePolicyList({ documents: [{ service: "a" }, { service: "b" }] }).length, 2);
    assertIssue(issuesOf(() => parsePolicyList({ documents: [{ service: "a" }, { service: "b", routes: [{ to: [{ subset: "x" }] }] }] })), "documents[1].routes[0].to[0].subset", /unknown subset "x"; there are no subsets/);
    assertIssue(issuesOf(() => parsePolicyList({ documents: [] })), "documents", /1 to 256/);
    assertIssue(issuesOf(() => parsePolicyList({ documents: [{ service: "a" }], extra: 1 })), "extra", /unknown field/);
  });
});

/** The issues of a one-document file with the given top-level YAML lines. */
function fieldIssues(lines: string): readonly Issue[] {
  return issuesOf(() => parsePolicyDocuments(`service: checkout\n${lines}`, "policy.yaml"));
}

function parseFields(lines: string) {
  const [document] = parsePolicyDocuments(`service: checkout\n${lines}`, "policy.yaml");
  assert.ok(document);
  return document.policy;
}

describe("policy-validate - issue 19 fields", () => {
  it("policy-validate - parses the issue's example of every field, canonical and frozen", () => {
    const policy = parseFields(`failover: { zones: [z1, z2] }
dnsFallback: { port: 443, name: checkout.internal }
loadBalancing: { ringSize: { max: 8388608, min: 1024 }, hashOn: { header: x-user }, policy: ring_hash }
maxRequests: 10
outlierDetection: { failurePercentage: { requestVolume: 20, minimumHosts: 3, threshold: 85 }, maxEjectionPercent: 50, baseEjectionMs: 30000, intervalMs: 1000, consecutiveErrors: 5 }
`);
    assert.deepEqual(Object.keys(policy), ["subsets", "routes", "outlierDetection", "maxRequests", "loadBalancing", "dnsFallback", "failover"]);
    assert.deepEqual(Object.keys(policy.outlierDetection ?? {}), ["consecutiveErrors", "intervalMs", "baseEjectionMs", "maxEjectionPercent", "failurePercentage"]);
    assert.deepEqual(policy.outlierDetection?.failurePercentage, { threshold: 85, minimumHosts: 3, requestVolume: 20 });
    assert.equal(policy.maxRequests, 10);
    assert.deepEqual(policy.loadBalancing, { policy: "ring_hash", hashOn: { header: "x-user" }, ringSize: { min: 1024, max: 8388608 } });
    assert.deepEqual(Object.keys(policy.loadBalancing ?? {}), ["policy", "hashOn", "ringSize"]);
    assert.deepEqual(policy.dnsFallback, { name: "checkout.internal", port: 443 });
    assert.deepEqual(Object.keys(policy.dnsFallback ?? {}), ["name", "port"]);
    assert.deepEqual(policy.failover, { zones: ["z1", "z2"] });
    assert.ok(Object.isFrozen(policy.failover?.zones));
    assert.ok(Object.isFrozen(policy.outlierDetection?.failurePercentage));
  });

  it("policy-validate - the smallest valid forms, and absent fields stay absent", () => {
    const policy = parseFields(`outlierDetection: { consecutiveErrors: 1 }\nloadBalancing: { policy: round_robin }\ndnsFallback: { port: 1 }\nfailover: { regions: [eu-west.1] }\nmaxRequests: 4294967295\n`);
    assert.deepEqual(policy.outlierDetection, { consecutiveErrors: 1 });
    assert.deepEqual(policy.loadBalancing, { policy: "round_robin" });
    assert.deepEqual(policy.dnsFallback, { port: 1 });
    assert.deepEqual(policy.failover, { regions: ["eu-west.1"] });
    assert.equal(policy.maxRequests, 4294967295);
    assert.deepEqual(parseFields(`outlierDetection: { failurePercentage: { threshold: 0, minimumHosts: 1, requestVolume: 1 }, maxEjectionPercent: 0 }\n`).outlierDetection, { maxEjectionPercent: 0, failurePercentage: { threshold: 0, minimumHosts: 1, requestVolume: 1 } });
    assert.deepEqual(parseFields(`loadBalancing: { policy: ring_hash, ringSize: { min: 7, max: 7 } }\n`).loadBalancing, { policy: "ring_hash", ringSize: { min: 7, max: 7 } });
    const plain = parseFields("");
    for (const key of ["outlierDetection", "maxRequests", "loadBalancing", "dnsFallback", "failover"]) assert.ok(!(key in plain), key);
  });

  it("policy-validate - outlierDetection: a detector is required, ranges, integers and unknown fields", () => {
    assertIssue(fieldIssues(`outlierDetection: {}\n`), "outlierDetection", /must have consecutiveErrors, failurePercentage or both/);
    assertIssue(fieldIssues(`outlierDetection: { intervalMs: 1000 }\n`), "outlierDetection", /consecutiveErrors, failurePercentage or both/);
    assertIssue(fieldIssues(`outlierDetection: 5\n`), "outlierDetection", /an object with consecutiveErrors or failurePercentage.*got 5/);
    const issues = fieldIssues(`outlierDetection: { consecutiveErrors: 0, intervalMs: 3600001, baseEjectionMs: 0, maxEjectionPercent: 101, successRate: {} }\n`);
    assertIssue(issues, "outlierDetection.consecutiveErrors", /integer from 1 to 1000, got 0/);
    assertIssue(issues, "outlierDetection.intervalMs", /integer from 1 to 3600000, got 3600001/);
    assertIssue(issues, "outlierDetection.baseEjectionMs", /integer from 1 to 3600000, got 0/);
    assertIssue(issues, "outlierDetection.maxEjectionPercent", /integer from 0 to 100, got 101/);
    assertIssue(issues, "outlierDetection.successRate", /unknown field; allowed fields are consecutiveErrors, intervalMs, baseEjectionMs, maxEjectionPercent, failurePercentage$/);
    assert.equal(issues.length, 5, JSON.stringify(issues));
    assertIssue(fieldIssues(`outlierDetection: { consecutiveErrors: 2.5 }\n`), "outlierDetection.consecutiveErrors", /integer/);
    assertIssue(fieldIssues(`outlierDetection: { consecutiveErrors: "5" }\n`), "outlierDetection.consecutiveErrors", /integer from 1 to 1000, got "5"/);
  });

  it("policy-validate - outlierDetection.failurePercentage: threshold 0-100, minimumHosts 1-1000, requestVolume 1-1000000, all required", () => {
    const issues = fieldIssues(`outlierDetection: { failurePercentage: { threshold: 101, minimumHosts: 0, requestVolume: 1000001, stdev: 1 } }\n`);
    assertIssue(issues, "outlierDetection.failurePercentage.threshold", /integer from 0 to 100, got 101/);
    assertIssue(issues, "outlierDetection.failurePercentage.minimumHosts", /integer from 1 to 1000, got 0/);
    assertIssue(issues, "outlierDetection.failurePercentage.requestVolume", /integer from 1 to 1000000, got 1000001/);
    assertIssue(issues, "outlierDetection.failurePercentage.stdev", /allowed fields are threshold, minimumHosts, requestVolume$/);
    assert.ok(!issues.some((i) => i.path === "outlierDetection"), "a failurePercentage, even a bad one, counts as a detector");
    const missing = fieldIssues(`outlierDetection: { failurePercentage: { threshold: 85.5 } }\n`);
    assertIssue(missing, "outlierDetection.failurePercentage.threshold", /integer from 0 to 100, got 85.5/);
    assertIssue(missing, "outlierDetection.failurePercentage.minimumHosts", /is required; must be an integer from 1 to 1000/);
    assertIssue(missing, "outlierDetection.failurePercentage.requestVolume", /is required; must be an integer from 1 to 1000000/);
    assertIssue(fieldIssues(`outlierDetection: { failurePercentage: 85 }\n`), "outlierDetection.failurePercentage", /an object \{threshold, minimumHosts, requestVolume\}, got 85/);
  });

  it("policy-validate - maxRequests is an integer from 1 to 4294967295", () => {
    for (const bad of ["0", "-1", "4294967296", "1.5", '"10"', "null"]) {
      assertIssue(fieldIssues(`maxRequests: ${bad}\n`), "maxRequests", /integer from 1 to 4294967295/);
    }
  });

  it("policy-validate - loadBalancing: the policy, and hashOn and ringSize only with ring_hash", () => {
    assertIssue(fieldIssues(`loadBalancing: { policy: maglev }\n`), "loadBalancing.policy", /one of round_robin, ring_hash, got "maglev"/);
    assertIssue(fieldIssues(`loadBalancing: { policy: RING_HASH }\n`), "loadBalancing.policy", /one of round_robin, ring_hash/);
    assertIssue(fieldIssues(`loadBalancing: { hashOn: { header: x-user } }\n`), "loadBalancing.policy", /is required; must be one of round_robin, ring_hash/);
    const issues = fieldIssues(`loadBalancing: { policy: round_robin, hashOn: { header: x-user }, ringSize: { min: 1, max: 2 }, choiceCount: 2 }\n`);
    assertIssue(issues, "loadBalancing.hashOn", /only for policy ring_hash; leave it out for policy round_robin/);
    assertIssue(issues, "loadBalancing.ringSize", /only for policy ring_hash/);
    assertIssue(issues, "loadBalancing.choiceCount", /allowed fields are policy, hashOn, ringSize$/);
    assert.equal(issues.length, 3, JSON.stringify(issues));
    assertIssue(fieldIssues(`loadBalancing: ring_hash\n`), "loadBalancing", /an object \{policy, hashOn, ringSize\}, got "ring_hash"/);
  });

  it("policy-validate - loadBalancing.ringSize: 1-8388608 each (grpc-js-xds's cap), min at most max, both given", () => {
    const issues = fieldIssues(`loadBalancing: { policy: ring_hash, ringSize: { min: 0, max: 8388609 } }\n`);
    assertIssue(issues, "loadBalancing.ringSize.min", /integer from 1 to 8388608, got 0/);
    assertIssue(issues, "loadBalancing.ringSize.max", /integer from 1 to 8388608, got 8388609/);
    assert.equal(issues.length, 2, JSON.stringify(issues));
    assertIssue(fieldIssues(`loadBalancing: { policy: ring_hash, ringSize: { min: 2048, max: 1024 } }\n`), "loadBalancing.ringSize.max", /at least min \(2048\), got 1024/);
    assertIssue(fieldIssues(`loadBalancing: { policy: ring_hash, ringSize: { max: 1024 } }\n`), "loadBalancing.ringSize.min", /is required/);
    assertIssue(fieldIssues(`loadBalancing: { policy: ring_hash, ringSize: { min: 1, max: 2, hash: xx } }\n`), "loadBalancing.ringSize.hash", /allowed fields are min, max$/);
  });

  it("policy-validate - loadBalancing.hashOn.header: a lowercase header stock clients hash on", () => {
    const cases: readonly [string, RegExp][] = [
      ["X-User", /lowercase header name.*got "X-User"/],
      ['":path"', /pseudo-headers are not request metadata/],
      ["grpc-timeout", /grpc- prefix is reserved by gRPC/],
      ["trace-bin", /do not hash binary \(-bin\) headers/],
      ["content-type", /hash content-type as the constant "application\/grpc"/],
      ['"x user"', /lowercase header name/],
      ['""', /lowercase header name/],
      ["7", /lowercase header name.*got 7/],
    ];
    for (const [header, why] of cases) assertIssue(fieldIssues(`loadBalancing: { policy: ring_hash, hashOn: { header: ${header} } }\n`), "loadBalancing.hashOn.header", why);
    assertIssue(fieldIssues(`loadBalancing: { policy: ring_hash, hashOn: {} }\n`), "loadBalancing.hashOn.header", /is required/);
    assertIssue(fieldIssues(`loadBalancing: { policy: ring_hash, hashOn: { header: x, cookie: y } }\n`), "loadBalancing.hashOn.cookie", /allowed fields are header$/);
    assert.equal(parseFields(`loadBalancing: { policy: ring_hash, hashOn: { header: x-grpc-user } }\n`).loadBalancing?.hashOn?.header, "x-grpc-user");
  });

  it("policy-validate - dnsFallback: a lowercase host name without a trailing dot, and a port from 1 to 65535", () => {
    assert.equal(parseFields(`dnsFallback: { name: a-1.b.internal, port: 65535 }\n`).dnsFallback?.name, "a-1.b.internal");
    assert.equal(parseFields(`dnsFallback: { name: ${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}, port: 1 }\n`).dnsFallback?.name?.length, 253);
    for (const bad of ["checkout.internal.", "Checkout.internal", "a..b", "-a.b", "a-.b", ".a", "a_b.c", "", `${"a".repeat(64)}.b`, `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`]) {
      assertIssue(fieldIssues(`dnsFallback: { name: "${bad}", port: 443 }\n`), "dnsFallback.name", /a DNS host name: lowercase labels.*without a trailing dot/);
    }
    assertIssue(fieldIssues(`dnsFallback: { name: checkout.internal }\n`), "dnsFallback.port", /is required; must be an integer from 1 to 65535/);
    for (const port of ["0", "65536", "44.3", '"443"']) assertIssue(fieldIssues(`dnsFallback: { port: ${port} }\n`), "dnsFallback.port", /integer from 1 to 65535/);
    assertIssue(fieldIssues(`dnsFallback: { port: 443, ttl: 30 }\n`), "dnsFallback.ttl", /allowed fields are name, port$/);
    assertIssue(fieldIssues(`dnsFallback: true\n`), "dnsFallback", /an object \{name, port\}/);
  });

  it("policy-validate - failover: exactly one of zones and regions, a non-empty list of unique locality names", () => {
    assertIssue(fieldIssues(`failover: {}\n`), "failover", /exactly one of zones and regions; got none/);
    assertIssue(fieldIssues(`failover: { zones: [z1], regions: [r1] }\n`), "failover", /exactly one of zones and regions; got both/);
    assertIssue(fieldIssues(`failover: { zones: [] }\n`), "failover.zones", /list of 1 to 64 unique names/);
    assertIssue(fieldIssues(`failover: { zones: z1 }\n`), "failover.zones", /list of 1 to 64 unique names.*got "z1"/);
    assertIssue(fieldIssues(`failover: { zones: [z1, z2, z1] }\n`), "failover.zones[2]", /"z1" is listed twice; list each zone once/);
    assertIssue(fieldIssues(`failover: { regions: [r1, r1] }\n`), "failover.regions[1]", /list each region once/);
    const names = fieldIssues(`failover: { zones: ["", "eu west", "${"z".repeat(64)}", 3] }\n`);
    for (const index of [0, 1, 2, 3]) assertIssue(names, `failover.zones[${index}]`, /1–63 characters of \[A-Za-z0-9._-\]/);
    assertIssue(fieldIssues(`failover: { zones: [${Array.from({ length: 65 }, (_, i) => `z${i}`).join(", ")}] }\n`), "failover.zones", /1 to 64/);
    assertIssue(fieldIssues(`failover: { zones: [z1], order: nearest }\n`), "failover.order", /allowed fields are zones, regions$/);
  });

  it("policy-validate - a document lists the issue-19 fields among the allowed ones", () => {
    assertIssue(fieldIssues(`circuitBreaker: { maxRequests: 1 }\n`), "circuitBreaker", /allowed fields are service, subsets, routes, outlierDetection, maxRequests, loadBalancing, dnsFallback, failover$/);
  });

  it("policy-validate - every problem of every new field at once, with routes' problems, in files, API bodies and lists", () => {
    const text = `outlierDetection: { maxEjectionPercent: 200 }
maxRequests: 0
loadBalancing: { policy: round_robin, hashOn: { header: grpc-user } }
dnsFallback: { name: "a.", port: 0 }
failover: { zones: [z1, z1], regions: [r1] }
routes: [{ to: [{ subset: nope }] }]
`;
    const expected = [
      "dnsFallback.name",
      "dnsFallback.port",
      "failover",
      "failover.zones[1]",
      "loadBalancing.hashOn",
      "loadBalancing.hashOn.header",
      "maxRequests",
      "outlierDetection",
      "outlierDetection.maxEjectionPercent",
      "routes[0].to[0].subset",
    ];
    assert.deepEqual(fieldIssues(text).map((i) => i.path).sort(), expected);
    const body = { outlierDetection: { maxEjectionPercent: 200 }, maxRequests: 0, loadBalancing: { policy: "round_robin", hashOn: { header: "grpc-user" } }, dnsFallback: { name: "a.", port: 0 }, failover: { zones: ["z1", "z1"], regions: ["r1"] }, routes: [{ to: [{ subset: "nope" }] }] };
    assert.deepEqual(issuesOf(() => parsePolicyBody("checkout", body)).map((i) => i.path).sort(), expected);
    assert.deepEqual(issuesOf(() => parsePolicyList({ documents: [{ service: "a" }, { service: "checkout", ...body }] })).map((i) => i.path).sort(), expected.map((path) => `documents[1].${path}`));
    assert.deepEqual(parsePolicyBody("checkout", { maxRequests: 3, failover: { zones: ["z1"] } }).policy, { subsets: [], routes: [], maxRequests: 3, failover: { zones: ["z1"] } });
  });
});
