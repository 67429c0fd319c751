import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ackCurve, ackSummary, diffSummary, historySummary, instanceActionLine, localityLine, matchLine, metadataLine, shortTime, yamlish } from "../../ui/format.js";
import { routeOf } from "../../ui/routes.js";

const NO_CHANGE = { added: [], removed: [], changed: [] };

describe("the console's text (ui/format.ts)", () => {
  it("restates a generation's diff: endpoint counts per service first, then resource changes per type, then policies", () => {
    const lines = diffSummary({
      against: 11,
      types: { EDS: { added: [], removed: ["b"], changed: ["greeter", "a"] }, LDS: { added: ["x"], removed: [], changed: [] }, RDS: NO_CHANGE, CDS: NO_CHANGE },
      endpoints: { greeter: { before: 10, after: 1 }, alpha: { before: 0, after: 3 } },
      policies: ["greeter"],
    });
    assert.deepEqual(lines, ["alpha 0 → 3 endpoints", "greeter 10 → 1 endpoints", "LDS: 1 added", "EDS: 1 removed, 2 changed", "policy changed: greeter"]);
  });

  it("restates what an instance action does to the endpoints clients are sent (healthy and unknown ones)", () => {
    const instances = [
      { id: "a", health: "healthy" },
      { id: "b", health: "unknown" },
      { id: "c", health: "draining" },
      { id: "d", health: "unhealthy" },
    ];
    assert.equal(instanceActionLine("greeter", instances, "a", "drain"), "greeter 2 → 1 endpoints");
    assert.equal(instanceActionLine("greeter", instances, "b", "remove"), "greeter 2 → 1 endpoints");
    assert.equal(instanceActionLine("greeter", instances, "d", "remove"), "greeter 2 → 2 endpoints");
    assert.equal(instanceActionLine("greeter", instances, "c", "undrain"), "greeter 2 → 3 endpoints");
  });

  it("has no lines for a diff that changes nothing, or for none", () => {
    assert.deepEqual(diffSummary({ types: { LDS: NO_CHANGE, RDS: NO_CHANGE, CDS: NO_CHANGE, EDS: NO_CHANGE }, endpoints: {} }), []);
    assert.deepEqual(diffSummary(undefined), []);
  });

  it("builds the cumulative ACK curve from the push, sorted by time, without unusable timings", () => {
    assert.deepEqual(ackCurve([{ ms: 80 }, { ms: 35 }, { ms: Number.NaN }, { ms: 210 }]), [
      [0, 35, 80, 210],
      [0, 1, 2, 3],
    ]);
    assert.deepEqual(ackCurve([]), [[], []]);
    assert.equal(ackSummary(12, 3, 4, [{ ms: 80 }, { ms: 35 }, { ms: 210 }]), "Generation 12: 3 of 4 connected streams ACKed, the last after 210 ms.");
    assert.equal(ackSummary(12, 0, 1, []), "Generation 12: 0 of 1 connected stream ACKed, no ACK timings.");
  });

  it("summarises the instance history for the chart's text alternative", () => {
    const at = "2026-01-01T00:00:00Z";
    assert.equal(historySummary("greeter", []), "No instance history for greeter yet.");
    assert.equal(
      historySummary("greeter", [
        { at, healthy: 10, unhealthy: 0, unknown: 0, draining: 0 },
        { at, healthy: 1, unhealthy: 2, unknown: 0, draining: 3 },
      ]),
      "Instances of greeter over time, 2 samples; now 1 healthy, 2 unhealthy, 3 draining.",
    );
  });

  it("formats table cells: matches, metadata, locality, times", () => {
    assert.equal(matchLine(1), "1 service matches");
    assert.equal(matchLine(10000), "10,000 services match");
    assert.equal(metadataLine({ version: "v2", team: "core" }), "team=core, version=v2");
    assert.equal(metadataLine({}), "–");
    assert.equal(localityLine("eu-1a", "eu"), "eu-1a / eu");
    assert.equal(localityLine("", "eu"), "eu");
    assert.equal(localityLine("", ""), "–");
    assert.match(shortTime("2026-01-01T12:34:56Z"), /^2026-01-0[12] \d\d:34:56$/);
    assert.equal(shortTime("not a date"), "not a date");
    assert.equal(shortTime(undefined), "–");
  });

  it("shows a policy document as indented YAML-like text", () => {
    assert.equal(yamlish({ subsets: [{ name: "v2", selector: { version: "v2" } }], retries: 2, tags: ["a"] }), ["subsets:", "  -", "    name: v2", "    selector:", "      version: v2", "retries: 2", "tags:", "  - a"].join("\n"));
    assert.equal(yamlish({}), "{}");
  });
});

describe("the console's routes (ui/routes.ts)", () => {
  it("maps paths under /ui to pages", () => {
    assert.deepEqual(routeOf("/ui"), { page: "overview" });
    assert.deepEqual(routeOf("/ui/"), { page: "overview" });
    assert.deepEqual(routeOf("/ui/login"), { page: "login" });
    assert.deepEqual(routeOf("/ui/services?x=1"), { page: "services" });
    assert.deepEqual(routeOf("/ui/services/greeter"), { page: "service", name: "greeter" });
    assert.deepEqual(routeOf("/ui/clients"), { page: "clients" });
    assert.deepEqual(routeOf("/ui/generations"), { page: "generations" });
    assert.deepEqual(routeOf("/ui/generations/12"), { page: "generations", id: 12 });
    assert.deepEqual(routeOf("/ui/lab/spotify-2022-03-08"), { page: "lab", name: "spotify-2022-03-08" });
  });

  it("answers not-found for anything else, bad ids and bad escapes included", () => {
    for (const path of ["/ui/nope", "/ui/generations/0", "/ui/generations/x", "/ui/services/a/b", "/ui/clients/1"]) assert.deepEqual(routeOf(path), { page: "not-found" }, path);
    assert.deepEqual(routeOf("/ui/services/%E0%A4%A"), { page: "service", name: "%E0%A4%A" });
  });
});
