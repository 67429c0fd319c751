import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { main } from "../../src/cli/index.js";
import { GUARD_DEFAULTS } from "../../src/guard/index.js";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, loadCodec, type DiscoveryResponse } from "../../src/proto/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { captureIo } from "../helpers/io.js";
import { dashboardExpressions, exposedNames, metricNamesIn, ruleExpressions } from "../helpers/ops-files.js";
import { openRawAds, type RawAdsStream } from "../helpers/raw-ads.js";

/**
 * Issue 17's operator view on a live server: the unknown-name flag in
 * GET /v1/clients and `steadymesh status`, each new metric on /metrics after
 * registrations, client ACKs and NACKs and a held generation, and every
 * metric name the shipped alert rules and dashboard read.
 */
const codec = loadCodec();
let cp: TestControlPlane;
const open: RawAdsStream[] = [];

function node(id: string) {
  return { id, cluster: "test", user_agent_name: "ops-test" };
}

function stream(): RawAdsStream {
  const s = openRawAds(cp.xds.port, codec);
  open.push(s);
  return s;
}

function ack(s: RawAdsStream, r: DiscoveryResponse, names: string[]): void {
  s.send({ type_url: r.type_url, resource_names: names, version_info: r.version_info, response_nonce: r.nonce });
}

async function scrape(): Promise<string> {
  const res = await fetch(`${cp.adminUrl}/metrics`, { headers: cp.headers() });
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of the sample `name{labels}` exactly as written (labels in prom-client's order), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let value = await read();
  while (!ok(value)) {
    if (Date.now() > end) assert.fail(`${what}: last saw ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
    value = await read();
  }
  return value;
}

async function client(nodeId: string): Promise<any> {
  return (await cp.api("GET", "/v1/clients")).body.clients.find((c: any) => c.nodeId === nodeId);
}

before(async () => {
  // A 100 ms quiet period, so that a burst of deregistrations is one generation; no drain while the test looks at the hold.
  cp = await startControlPlane({ pushMinDelayMs: 100, guard: { ...GUARD_DEFAULTS, drainIntervalMs: 600_000 } });
  await cp.register("greeter", "g1", 7001);
  await cp.register("greeter", "g2", 7002);
  for (let i = 1; i <= 10; i++) await cp.register("fleet", `f${i}`, 7100 + i);
  // Served, not only written: the push comes one quiet period after the last write, and a subscription before it would find greeter unknown too.
  const revision = (await cp.api("GET", "/healthz")).body.revision as number;
  await until("the registrations pushed", () => cp.api("GET", "/v1/generations"), (r) => r.body.generations.some((g: any) => g.status === "pushed" && g.revision >= revision));
});

after(async () => {
  for (const s of open) s.close();
  await cp?.close();
});

test("ops metrics - a typo in a subscription is flagged in GET /v1/clients and status, and counted once per stream and type", async () => {
  const s = stream();
  s.send({ node: node("typo-client"), type_url: LISTENER_TYPE, resource_names: ["greeter", "gretter"] });
  const lds = await s.next();
  ack(s, lds, ["greeter", "gretter"]);
  s.send({ type_url: CLUSTER_TYPE, resource_names: ["gretter"] });
  const cds = await s.next();
  ack(s, cds, ["gretter"]);
  const shown = await until("the client's unknown names", () => client("typo-client"), (c) => c?.types?.CDS?.unknown !== undefined);
  assert.deepEqual(shown.types.LDS.subscribed, ["greeter", "gretter"]);
  assert.deepEqual([shown.types.LDS.unknown, shown.types.LDS.unknownCount, shown.types.CDS.unknown], [["gretter"], 1, ["gretter"]]);
  // Asking again (another subscription change naming it) does not count it again.
  s.send({ type_url: LISTENER_TYPE, resource_names: ["gretter"], version_info: lds.version_info, response_nonce: lds.nonce });
  const again = await s.next();
  ack(s, again, ["gretter"]);
  const text = await scrape();
  assert.equal(sample(text, 'steadymesh_xds_unknown_resource_names_total{type="LDS"}'), 1);
  assert.equal(sample(text, 'steadymesh_xds_unknown_resource_names_total{type="CDS"}'), 1);

  const io = captureIo();
  assert.equal(await main(["node", "steadymesh", "status", ...cp.cliArgs], io), 0, io.err());
  assert.match(io.out(), /^typo-client +s\d+ +LDS +gretter /m);
  assert.match(io.out(), /^ {2}typo-client \(s\d+\) unknown: gretter \(LDS, CDS\)$/m);
  const good = stream();
  good.send({ node: node("good-client"), type_url: LISTENER_TYPE, resource_names: ["greeter"] });
  ack(good, await good.next(), ["greeter"]);
  await until("the good client", () => client("good-client"), (c) => c?.types?.LDS?.ackedVersion !== "");
  assert.equal((await client("good-client")).types.LDS.unknown, undefined);
});

test("ops metrics - push propagation, build, guard and admin histograms, endpoint, client, hold and store gauges, on a live /metrics", async () => {
  const watcher = stream();
  watcher.send({ node: node("eds-client"), type_url: ENDPOINT_TYPE, resource_names: ["greeter"] });
  ack(watcher, await watcher.next(), ["greeter"]);
  await cp.register("greeter", "g3", 7003);
  ack(watcher, await watcher.next(), ["greeter"]);
  const propagated = await until("a propagation sample", scrape, (t) => (sample(t, "steadymesh_push_propagation_seconds_count") ?? 0) >= 1);
  assert.ok((sample(propagated, "steadymesh_push_propagation_seconds_sum") ?? -1) >= 0);

  // A client that NACKs what it was sent.
  const nacker = stream();
  nacker.send({ node: node("nack-client"), type_url: CLUSTER_TYPE, resource_names: ["greeter"] });
  const sent = await nacker.next();
  nacker.send({ type_url: CLUSTER_TYPE, resource_names: ["greeter"], version_info: "", response_nonce: sent.nonce, error_detail: { code: 3, message: "refused on purpose", details: [] } });

  // Nine of ten instances gone in one burst: held.
  await Promise.all(Array.from({ length: 9 }, (_, i) => cp.deregister("fleet", `f${i + 1}`)));
  await until("a held generation", async () => (await cp.guard.settled(), cp.guard.list().filter((g) => g.status === "held").length), (n) => n === 1);

  const text = await until("the NACKing client", scrape, (t) => sample(t, "steadymesh_xds_clients_nacking") === 1);
  assert.ok((sample(text, "steadymesh_xds_clients_behind") ?? 0) >= 1, "the NACKing client is behind");
  assert.equal(sample(text, "steadymesh_generations_held"), 1);
  assert.equal(sample(text, "steadymesh_guard_holding"), 1);
  assert.equal(sample(text, 'steadymesh_service_endpoints{service="greeter",health="healthy"}'), 3);
  assert.equal(sample(text, 'steadymesh_service_endpoints{service="fleet",health="healthy"}'), 1);
  assert.equal(sample(text, "steadymesh_store_up"), 1);
  assert.ok((sample(text, "steadymesh_store_last_commit_timestamp_seconds") ?? 0) > Date.now() / 1000 - 60);
  assert.ok((sample(text, "steadymesh_snapshot_build_seconds_count") ?? 0) >= 3);
  assert.ok((sample(text, "steadymesh_guard_decision_seconds_count") ?? 0) >= 3);
  assert.ok((sample(text, 'steadymesh_admin_request_duration_seconds_count{method="PUT",route="/v1/services/:service/instances/:id",status="201"}') ?? 0) >= 13, "13 instances created");
  assert.doesNotMatch(text, /steadymesh_admin_request_duration_seconds_count\{[^}]*route="\/v1\/services\/greeter/, "routes are patterns, not URLs");
});

test("ops metrics - every metric the alert rules and the dashboard read is on a live /metrics", async () => {
  const exposed = exposedNames(await scrape());
  const queries = [...ruleExpressions().map((r) => ({ where: `alert rule ${r.rule}`, expr: r.expr })), ...dashboardExpressions().map((d) => ({ where: `dashboard panel "${d.panel}"`, expr: d.expr }))];
  const read = new Set(queries.flatMap((q) => metricNamesIn(q.expr)));
  assert.ok(read.size >= 20, `the rules and dashboard read ${read.size} metrics`);
  const missing = queries.flatMap((q) => metricNamesIn(q.expr).filter((name) => !exposed.has(name)).map((name) => `${q.where}: ${name}`));
  assert.deepEqual(missing, [], "names /metrics does not expose");
});
