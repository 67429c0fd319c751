import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { NotFoundError, type Issue } from "../../src/errors/index.js";
import { ScenarioError, listScenarios, loadScenario, parseScenario, plannedDisruptions } from "../../src/lab/index.js";

/** A small valid scenario; tests replace lines of it to break one thing at a time. */
const GOOD = `name: tiny
description: A tiny scenario.
speed: 2
start: "18:00"
end: "18:10"
cohorts:
  - { name: stock, discovery: xds-default, gateways: 1 }
  - { name: ours, discovery: steady }
workload:
  users: 10
  loggedInShare: 0.5
  loginRatePerSec: 2
  retry: { baseMs: 100, maxMs: 1000, jitter: 0.2 }
timeline:
  - { at: "18:00", action: note, note: start }
  - { at: "18:02", action: fault, kind: config-loss, services: [login] }
  - { at: "+300s", action: clear-fault }
slos:
  - { cohort: ours, window: during-fault, minSuccess: 0.99 }
`;

/** The issues parseScenario reports for `text`; fails the test if it does not throw a ScenarioError. */
function issuesOf(text: string): readonly Issue[] {
  try {
    parseScenario(text, "bad.yaml");
  } catch (err) {
    assert.ok(err instanceof ScenarioError, `expected a ScenarioError, got ${String(err)}`);
    assert.match(err.message, /^bad\.yaml: /);
    assert.equal(err.code, "invalid-argument");
    return err.issues;
  }
  assert.fail("expected a ScenarioError, but the scenario loaded");
}

function rendered(issues: readonly Issue[]): string[] {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
}

test("lab - every shipped scenario loads, and its name is its file name", () => {
  const names = listScenarios().map((s) => s.name);
  for (const required of ["spotify-2022-03-08", "control-plane-crash", "cold-start-during-outage", "empty-endpoints-push", "dns-outage", "recovery-login-storm", "ci-smoke", "bad-canary-release"]) {
    assert.ok(names.includes(required), `${required} is missing from ${names.join(", ")}`);
  }
  for (const name of names) {
    const scenario = loadScenario(name);
    assert.equal(scenario.name, name);
    assert.ok(scenario.sources.length > 0, `${name} cites no sources`);
    assert.ok(scenario.slos.length > 0, `${name} has no SLOs`);
    assert.ok(scenario.durationSec / scenario.speed <= 100, `${name} takes ${scenario.durationSec / scenario.speed} s of real time`);
  }
  const smoke = loadScenario("ci-smoke");
  assert.ok(smoke.durationSec / smoke.speed <= 40, "ci-smoke must fit the CI test's budget");
});

test("lab - the Spotify replay keeps the public timeline", () => {
  const spotify = loadScenario("spotify-2022-03-08");
  const steps = spotify.timeline.map((e) => [e.clock, e.action, "kind" in e ? e.kind : undefined]);
  assert.deepEqual(steps, [
    ["18:00", "note", undefined],
    ["18:00", "policy", undefined],
    ["18:07", "fault", "config-loss"],
    ["18:07", "fault", "stream-error"],
    ["18:12", "note", undefined],
    ["18:39", "remediate", undefined],
    ["20:00", "restart", undefined],
    ["20:35", "note", undefined],
    ["20:42", "clear-fault", undefined],
  ]);
  const [, fallback, loss, error, , remediate, coldStart] = spotify.timeline;
  assert.ok(loss?.action === "fault" && error?.action === "fault" && remediate?.action === "remediate" && coldStart?.action === "restart");
  assert.deepEqual(loss.services, ["login", "accounts"]);
  // The pipeline bug acts above the push guard; the stream errors are what clients receive, below it.
  assert.deepEqual([loss.layer, error.layer], ["pipeline", "server"]);
  assert.equal(error.status, "NOT_FOUND");
  assert.deepEqual([coldStart.cohorts, "gateways" in coldStart && coldStart.gateways], [["xds-default-guarded", "xds-dns-fallback"], 1]);
  // The DNS fallback goes to the xds-dns-fallback cohort's own guarded control plane only, so xds-default-guarded is still the guard alone.
  assert.ok(fallback?.action === "policy");
  assert.deepEqual([fallback.service, fallback.controlPlanes, fallback.policy.dnsFallback], ["login", ["guarded-2"], { name: "login-lb.service.mesh", port: 15443 }]);
  assert.match(error.note ?? "", /NOT_FOUND: Requested entity was not found\./);
  assert.equal(remediate.cohort, "xds-remediated");
  assert.equal(remediate.to, "dns");
  assert.equal(remediate.untilSec, (20 * 60 + 35 - 18 * 60) * 60);
  assert.match(spotify.description, /model/);
  assert.ok(spotify.durationSec / spotify.speed < 100, "the demo must finish in under 2 minutes");
  assert.deepEqual(
    plannedDisruptions(spotify).map((d) => [d.kind, d.layer, d.startSec, d.endSec]),
    [["config-loss", "pipeline", 7 * 60, 162 * 60], ["stream-error", "server", 7 * 60, 162 * 60]],
  );
  assert.deepEqual(spotify.topology.controlPlanes, ["primary", "guarded", "guarded-2"]);
  const guarded = spotify.cohorts.find((c) => c.name === "xds-default-guarded");
  assert.deepEqual([guarded?.discovery, guarded?.controlPlane, guarded?.scheduledRestarts], ["xds-default", "guarded", false]);
  const fallbackCohort = spotify.cohorts.find((c) => c.name === "xds-dns-fallback");
  assert.deepEqual([fallbackCohort?.discovery, fallbackCohort?.controlPlane, fallbackCohort?.scheduledRestarts], ["xds-dns-fallback", "guarded-2", false]);
  assert.ok(spotify.cohorts.filter((c) => c !== guarded && c !== fallbackCohort).every((c) => c.controlPlane === "primary" && c.scheduledRestarts));
  const slos = spotify.slos.map((slo) => [slo.cohort, slo.window, slo.minSuccess, slo.maxSuccess, slo.gateways]);
  assert.deepEqual(slos.filter(([cohort]) => cohort === "xds-default" || cohort === "xds-default-guarded"), [
    ["xds-default", "during-fault", 0, 0.05, "all"],
    ["xds-default-guarded", "during-fault", 0.999, undefined, "warm"],
  ]);
});

test("lab - a valid scenario resolves its times and fills defaults", () => {
  const scenario = parseScenario(GOOD, "good.yaml");
  assert.equal(scenario.startOfDaySec, 18 * 3600);
  assert.equal(scenario.durationSec, 600);
  assert.deepEqual(scenario.timeline.map((e) => [e.atSec, e.clock]), [[0, "18:00"], [120, "18:02"], [300, "18:05"]]);
  assert.equal(scenario.cohorts[1]?.gateways, 2);
  assert.deepEqual([scenario.cohorts[1]?.controlPlane, scenario.cohorts[1]?.scheduledRestarts], ["primary", true]);
  assert.equal(scenario.timeline[1]?.action === "fault" && scenario.timeline[1].layer, "server");
  assert.equal(scenario.slos[0]?.gateways, "all");
  assert.deepEqual(scenario.topology, { instances: { accounts: 2, login: 2, playback: 2 }, metadata: {}, controlPlanes: ["primary"] });
  assert.equal(scenario.seed, 1);
  assert.equal(scenario.file, "good.yaml");
});

test("lab - a bad scenario names every wrong field at once", () => {
  const cases: Array<[string, string, string[]]> = [
    ["a clock past 23:59", GOOD.replace('at: "+300s"', 'at: "25:00"'), ['timeline[2].at: must be "HH:MM" or "+<seconds>s", got "25:00"']],
    [
      "several shape errors",
      GOOD.replace("speed: 2", "speed: 0").replace("discovery: steady", "discovery: magic").replace("users: 10", "users: ten").replace("minSuccess: 0.99", "minSuccess: 1.5"),
      [
        "speed: must be a number above 0 and at most 100000, got 0",
        "cohorts[1].discovery: must be one of xds-default, xds-remediated, xds-ignore-deletion, steady, dns, xds-dns-fallback, got \"magic\"",
        'workload.users: must be an integer from 1 to 100000, got "ten"',
        "slos[0].minSuccess: must be a number from 0 to 1, got 1.5",
      ],
    ],
    ["an unknown field", GOOD.replace("speed: 2", "speed: 2\nsped: 3"), ["sped: unknown field; allowed fields are name, description, sources, speed, seed, start, end, topology, cohorts, workload, timeline, slos"]],
    ["an unknown action", GOOD.replace("action: note, note: start", "action: explode"), ["timeline[0].action: must be an action, one of fault, clear-fault, remediate, kill, restart, stop-dns, start-dns, policy, clear-policy, note, got \"explode\""]],
    ["a bad fault kind", GOOD.replace("kind: config-loss", "kind: meltdown"), ['timeline[1].kind: must be a fault kind, one of config-loss, stream-error, empty-endpoints, stall, invalid-config, got "meltdown"']],
    ["an unknown service", GOOD.replace("services: [login]", "services: [billing]"), ['timeline[1].services[0]: must be a demo service, one of accounts, login, playback, got "billing"']],
    ["a missing field", GOOD.replace("end: \"18:10\"\n", ""), ['end: is required; must be "HH:MM" or "+<seconds>s"']],
  ];
  for (const [what, text, expected] of cases) assert.deepEqual(rendered(issuesOf(text)), expected, what);
});

test("lab - cross-field rules are reported with the shape errors, each with its path", () => {
  const text = GOOD.replace("{ cohort: ours,", "{ cohort: ghost,")
    .replace('at: "18:02"', 'at: "18:06"')
    .replace("kind: config-loss, services: [login]", "kind: config-loss")
    .replace("  - { at: \"+300s\", action: clear-fault }", "  - { at: \"+300s\", action: clear-fault }\n  - { at: \"18:07\", action: clear-fault, kind: stall }\n  - { at: \"18:08\", action: remediate, cohort: nobody }\n  - { at: \"18:09\", action: fault, kind: stall, status: NOT_FOUND }")
    .replace("speed: 2", "speed: -1");
  const messages = rendered(issuesOf(text));
  const expected = [
    "speed: must be a number above 0 and at most 100000, got -1",
    'timeline[2].at: must not be earlier than timeline[1] ("18:06"); keep the timeline in time order, got "+300s"',
    'timeline[1].services: must name at least one demo service for kind "config-loss" (only stream-error and stall may omit it)',
    'timeline[4].cohort: must name a cohort of this scenario (stock, ours), got "nobody"',
    'timeline[5].status: is only allowed with kind "stream-error", got kind "stall"',
    'timeline[3]: clear-fault of kind "stall" at "18:07" has no active fault to clear',
    'slos[0].cohort: must name a cohort of this scenario (stock, ours), got "ghost"',
  ];
  assert.deepEqual(messages, expected);
});

test("lab - SLO windows need a disruption, and after-fault needs it to end", () => {
  const noClear = GOOD.replace('  - { at: "+300s", action: clear-fault }\n', "").replace("window: during-fault", "window: after-fault");
  assert.deepEqual(rendered(issuesOf(noClear)), ['slos[0].window: "after-fault" needs every disruption to end before the scenario\'s end; still open: config-loss']);
  const noFault = GOOD.replace("action: fault, kind: config-loss, services: [login]", "action: note, note: nothing").replace('  - { at: "+300s", action: clear-fault }\n', "");
  assert.deepEqual(rendered(issuesOf(noFault)), ['slos[0].window: "during-fault" needs a fault, kill or stop-dns in the timeline; use "whole"']);
  const twiceKilled = GOOD.replace('  - { at: "+300s", action: clear-fault }\n', '  - { at: "+300s", action: clear-fault }\n  - { at: "+310s", action: kill, controlPlane: primary }\n  - { at: "+320s", action: kill, controlPlane: primary }\n  - { at: "+330s", action: restart, controlPlane: guarded }\n');
  assert.deepEqual(rendered(issuesOf(twiceKilled)), [
    'timeline[5].controlPlane: must be a control plane in topology.controlPlanes (primary), got "guarded"',
    'timeline[4]: kill at "+320s": control plane "primary" is already down',
  ]);
});

test("lab - control planes, fault layers, partial restarts and warm-gateway SLOs: each bad use is one line naming its path", () => {
  const guarded = GOOD.replace("{ name: ours, discovery: steady }", "{ name: ours, discovery: steady, controlPlane: guarded }");
  assert.deepEqual(rendered(issuesOf(guarded)), ['cohorts[1].controlPlane: must be a control plane in topology.controlPlanes (primary), got "guarded"']);
  const withPlane = `${guarded.replace("cohorts:", "topology: { controlPlanes: [primary, guarded] }\ncohorts:")}`;
  assert.equal(parseScenario(withPlane, "ok.yaml").cohorts[1]?.controlPlane, "guarded");
  const entries = GOOD.replace("kind: config-loss, services: [login] }", "kind: config-loss, layer: pipeline, services: [login] }")
    .replace('  - { at: "+300s", action: clear-fault }', [
      '  - { at: "18:03", action: fault, kind: stream-error, layer: pipeline }',
      '  - { at: "18:04", action: fault, kind: stall, layer: guard }',
      '  - { at: "18:04", action: restart, cohorts: [stock], gateways: 2 }',
      '  - { at: "+300s", action: clear-fault }',
    ].join("\n"))
    .replace("minSuccess: 0.99 }", "minSuccess: 0.99, gateways: cold }");
  assert.deepEqual(rendered(issuesOf(entries)), [
    'timeline[3].layer: must be a fault layer, one of server, pipeline, got "guard"',
    'slos[0].gateways: must be one of all, warm, got "cold"',
    'timeline[2].layer: must be "server" for kind "stream-error", which acts on ADS streams; "pipeline" is allowed for config-loss, empty-endpoints, invalid-config',
    'timeline[4].gateways: must be at most the gateways of cohort "stock" (1), got 2',
  ]);
  const restarts = GOOD.replace("{ name: stock, discovery: xds-default, gateways: 1 }", "{ name: stock, discovery: xds-default, gateways: 1, scheduledRestarts: no }");
  assert.deepEqual(rendered(issuesOf(restarts)), ['cohorts[0].scheduledRestarts: must be true or false, got "no"']);
  const planeRestart = GOOD.replace('  - { at: "+300s", action: clear-fault }', '  - { at: "+300s", action: clear-fault }\n  - { at: "+310s", action: kill, controlPlane: primary }\n  - { at: "+320s", action: restart, controlPlane: primary, gateways: 1 }');
  assert.deepEqual(rendered(issuesOf(planeRestart)), ["timeline[4].gateways: is only allowed with cohorts (how many of each cohort's gateways restart), got 1 with a controlPlane"]);
});

test("lab - YAML errors and documents that are not a mapping are reported, not thrown raw", () => {
  assert.match(rendered(issuesOf("name: [\n"))[0] ?? "", /^YAML: .* at line \d+, column \d+$/);
  assert.match(rendered(issuesOf("a: 1\na: 2\n"))[0] ?? "", /^YAML: Map keys must be unique at line 2, column 1$/);
  assert.match(rendered(issuesOf(""))[0] ?? "", /^a scenario must be a YAML mapping .*, got null$/);
  assert.match(rendered(issuesOf("- a\n- b\n"))[0] ?? "", /got \["a","b"\]$/);
});

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "steadymesh-scenarios-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("lab - loadScenario takes a name or a path, and says which names exist", async () => {
  await writeFile(join(dir, "tiny.yaml"), GOOD);
  await writeFile(join(dir, "other.yaml"), GOOD);
  assert.equal(loadScenario(join(dir, "tiny.yaml")).name, "tiny");
  assert.equal(loadScenario("tiny", dir).file, join(dir, "tiny.yaml"));
  assert.throws(() => loadScenario("other", dir), (err: unknown) => err instanceof ScenarioError && /name: must match the file name "other", got "tiny"/.test(err.message));
  assert.throws(() => loadScenario("nope", dir), (err: unknown) => err instanceof NotFoundError && /unknown scenario "nope"; shipped scenarios are other, tiny/.test(err.message));
  assert.throws(() => loadScenario(join(dir, "missing.yaml")), (err: unknown) => err instanceof NotFoundError && /does not exist/.test(err.message));
  assert.throws(() => loadScenario("Not A Name", dir), (err: unknown) => err instanceof ScenarioError && /not a scenario name or a \.yaml path/.test(err.message));
});
