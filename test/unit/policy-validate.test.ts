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
    assertIssue(issuesOf(() => parsePolicyDocuments("- 1\n", "p.yaml")), "", /an object \{service, subsets, routes\}/);
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
