import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CLUSTER_TYPE, ENDPOINT_TYPE, loadCodec, type ClusterLoadAssignment, type DeltaDiscoveryResponse } from "../../src/proto/index.js";
import { GUARD_DEFAULTS } from "../../src/guard/index.js";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { openRawDeltaAds, type RawDeltaAdsStream } from "../helpers/raw-delta-ads.js";
import { waitFor } from "../helpers/wait-for.js";

// The helper checks every response's invariants: fresh rising nonce, matching type URLs, never empty.
const codec = loadCodec();
const node = { id: "delta-1", cluster: "test", user_agent_name: "raw-delta-test" };
let cp: TestControlPlane;
const open: RawDeltaAdsStream[] = [];

function stream(): RawDeltaAdsStream {
  const s = openRawDeltaAds(cp.xds.port, codec);
  open.push(s);
  return s;
}

function names(r: DeltaDiscoveryResponse): string[] {
  return r.resources.map((x) => x.name).sort();
}

function versions(r: DeltaDiscoveryResponse): Record<string, string> {
  return Object.fromEntries(r.resources.map((x) => [x.name, x.version]));
}

function ports(r: DeltaDiscoveryResponse, name: string): number[] {
  const res = r.resources.find((x) => x.name === name);
  if (!res?.resource) return [];
  const cla = codec.decodeResource(ENDPOINT_TYPE, res.resource.value) as ClusterLoadAssignment;
  return cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint?.address?.socket_address?.port_value ?? 0)).sort();
}

function ack(s: RawDeltaAdsStream, r: DeltaDiscoveryResponse): void {
  s.send({ type_url: r.type_url, response_nonce: r.nonce });
}

/** Reads (and ACKs) responses until one satisfies `want`; snapshots trail writes by the coalescing delay. */
async function until(s: RawDeltaAdsStream, want: (r: DeltaDiscoveryResponse) => boolean): Promise<DeltaDiscoveryResponse> {
  for (;;) {
    const r = await s.next();
    ack(s, r);
    if (want(r)) return r;
  }
}

/** What a delta client holds, name → version, kept by applying each response. */
type Held = Map<string, string>;

/** Reads (and ACKs) responses, applying each to `held`, until `want(held)`; returns the last response. */
async function untilHeld(s: RawDeltaAdsStream, held: Held, want: (held: Held) => boolean): Promise<DeltaDiscoveryResponse> {
  return until(s, (r) => {
    for (const x of r.resources) held.set(x.name, x.version);
    for (const name of r.removed_resources) held.delete(name);
    return want(held);
  });
}

async function deleteService(service: string): Promise<void> {
  const res = await cp.api("DELETE", `/v1/services/${service}`);
  assert.ok(res.status < 300, `delete ${service}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** `nodeId`'s entry in GET /v1/clients once `ready` holds for it; fails, saying what it waited for and the last entry, if it does not. */
async function clientStatus(nodeId: string, what: string, ready: (c: any) => boolean): Promise<any> {
  const find = async () => (await cp.api("GET", "/v1/clients")).body.clients.find((c: any) => c.nodeId === nodeId);
  return waitFor(`${nodeId} in GET /v1/clients with ${what}`, find, { until: (c) => Boolean(c) && ready(c) });
}

before(async () => {
  // Some tests delete a whole service: the guard would rightly hold that back.
  cp = await startControlPlane({ guard: { ...GUARD_DEFAULTS, enabled: false } });
  await cp.register("alpha", "a1", 7001);
  await cp.register("beta", "b1", 7002);
});

after(async () => {
  for (const s of open) s.close();
  await cp?.close();
});

test("ads delta - subscribing to names gets exactly those that exist, with versions", async () => {
  const s = stream();
  s.send({ node, type_url: ENDPOINT_TYPE, resource_names_subscribe: ["alpha", "nope"] });
  const r = await s.next();
  assert.equal(r.type_url, ENDPOINT_TYPE);
  assert.deepEqual(names(r), ["alpha"]);
  assert.deepEqual(ports(r, "alpha"), [7001]);
  assert.notEqual(r.resources[0]!.version, "");
  assert.deepEqual(r.removed_resources, [], "a subscribed name that never existed is not reported removed");
});

test("ads delta - an ACK gets no reply; an endpoint change sends only the changed ClusterLoadAssignment", async () => {
  const s = stream();
  s.send({ node, type_url: ENDPOINT_TYPE, resource_names_subscribe: ["alpha", "beta"] });
  const first = await s.next();
  assert.deepEqual(names(first), ["alpha", "beta"]);
  ack(s, first);
  await cp.register("alpha", "a2", 7004);
  const second = await until(s, (r) => ports(r, "alpha").includes(7004));
  // Responses on a stream are ordered: had the ACK been answered, that answer would have come first.
  assert.deepEqual(names(second), ["alpha"]);
  assert.notEqual(second.resources[0]!.version, versions(first)["alpha"]);
  assert.ok(Number(second.nonce) > Number(first.nonce));
  assert.equal(s.buffered(), 0);
  await cp.deregister("alpha", "a2");
  await until(s, (r) => r.resources.length > 0 && !ports(r, "alpha").includes(7004));
});

test("ads delta - unsubscribing a name stops its updates without a reply", async () => {
  const s = stream();
  s.send({ node, type_url: ENDPOINT_TYPE, resource_names_subscribe: ["alpha", "beta"] });
  const first = await s.next();
  s.send({ type_url: ENDPOINT_TYPE, response_nonce: first.nonce, resource_names_unsubscribe: ["beta"] });
  await cp.register("beta", "b2", 7005);
  await cp.register("alpha", "a3", 7006);
  const next = await until(s, (r) => ports(r, "alpha").includes(7006));
  assert.deepEqual(names(next), ["alpha"]);
  assert.deepEqual(next.removed_resources, []);
  await cp.deregister("beta", "b2");
  await cp.deregister("alpha", "a3");
  const last = await until(s, (r) => r.resources.length > 0 && !ports(r, "alpha").includes(7006));
  assert.deepEqual(names(last), ["alpha"], "beta is no longer subscribed");
});

test("ads delta - a deregistered service's resources arrive in removed_resources", async () => {
  await cp.register("gamma", "g1", 7010);
  const s = stream();
  s.send({ node, type_url: CLUSTER_TYPE, resource_names_subscribe: ["gamma", "alpha"] });
  const held: Held = new Map();
  await untilHeld(s, held, (h) => h.has("gamma"));
  assert.deepEqual([...held.keys()].sort(), ["alpha", "gamma"]);
  await deleteService("gamma");
  const removal = await until(s, (r) => r.removed_resources.length > 0);
  assert.deepEqual(removal.removed_resources, ["gamma"]);
  assert.deepEqual(names(removal), []);
});

test("ads delta - a wildcard subscription gets everything, then only what is new", async () => {
  const s = stream();
  s.send({ node, type_url: CLUSTER_TYPE });
  const first = await s.next();
  assert.deepEqual(names(first), ["alpha", "beta"]);
  ack(s, first);
  await cp.register("wild", "w1", 7020);
  const added = await until(s, (r) => names(r).includes("wild"));
  assert.deepEqual(names(added), ["wild"]);
  await deleteService("wild");
  const removed = await until(s, (r) => r.removed_resources.length > 0);
  assert.deepEqual(removed.removed_resources, ["wild"]);

  const star = stream();
  star.send({ node, type_url: CLUSTER_TYPE, resource_names_subscribe: ["*"] });
  assert.deepEqual(names(await star.next()), ["alpha", "beta"]);
});

test("ads delta - a reconnect with initial_resource_versions gets only what changed, and removals", async () => {
  await cp.register("epsilon", "e1", 7030);
  const watcher = stream();
  watcher.send({ node, type_url: ENDPOINT_TYPE });
  const view: Held = new Map();
  await untilHeld(watcher, view, (h) => h.has("epsilon"));
  const held = Object.fromEntries(view);
  assert.deepEqual(Object.keys(held).sort(), ["alpha", "beta", "epsilon"]);
  await cp.register("alpha", "a9", 7031);
  await deleteService("epsilon");
  // Wait until the snapshot holds both changes, so the reconnect sees them together.
  let sawAlpha = false;
  let sawRemoval = false;
  await until(watcher, (r) => {
    sawAlpha ||= ports(r, "alpha").includes(7031);
    sawRemoval ||= r.removed_resources.includes("epsilon");
    return sawAlpha && sawRemoval;
  });

  const s = stream();
  s.send({ node, type_url: ENDPOINT_TYPE, initial_resource_versions: held });
  const r = await s.next();
  assert.deepEqual(names(r), ["alpha"], "beta did not change and must not be sent");
  assert.deepEqual(ports(r, "alpha"), [7001, 7031]);
  assert.deepEqual(r.removed_resources, ["epsilon"]);
  await cp.deregister("alpha", "a9");
});

test("ads delta - a NACK shows in GET /v1/clients with protocol delta", async () => {
  const s = stream();
  s.send({ node: { ...node, id: "delta-nacker" }, type_url: CLUSTER_TYPE, resource_names_subscribe: ["alpha"] });
  const r = await s.next();
  s.send({ type_url: CLUSTER_TYPE, response_nonce: r.nonce, error_detail: { code: 3, message: "cluster alpha: unsupported lb_policy: MAGLEV", details: [] } });
  const client = await clientStatus("delta-nacker", "its CDS NACK", (c) => Boolean(c.types?.CDS?.lastNack));
  assert.equal(client.protocol, "delta");
  assert.deepEqual(client.types.CDS.subscribed, ["alpha"]);
  assert.equal(client.types.CDS.lastNack.errorDetail.message, "cluster alpha: unsupported lb_policy: MAGLEV");
  assert.equal(client.types.CDS.lastNack.nonce, r.nonce);
  assert.equal(client.types.CDS.ackedVersion, "");
});

test("ads delta - a stale nonce still changes the subscription but is not an ACK", async () => {
  const s = stream();
  s.send({ node: { ...node, id: "delta-stale" }, type_url: CLUSTER_TYPE, resource_names_subscribe: ["alpha"] });
  const first = await s.next();
  s.send({ type_url: CLUSTER_TYPE, response_nonce: "999", resource_names_subscribe: ["beta"] });
  const second = await s.next();
  assert.deepEqual(names(second), ["beta"], "only the newly subscribed resource is sent");
  assert.ok(Number(second.nonce) > Number(first.nonce));
  const client = await clientStatus("delta-stale", "2 CDS subscriptions", (c) => c.types?.CDS?.subscribed?.length === 2);
  assert.equal(client.types.CDS.ackedVersion, "", "a stale nonce is not an ACK");
  ack(s, second);
  const acked = await clientStatus("delta-stale", "a CDS ACK", (c) => c.types?.CDS?.ackedVersion !== "");
  assert.equal(acked.types.CDS.ackedVersion, second.system_version_info);
});

test("ads delta - a SotW stream and a Delta stream are both listed by GET /v1/clients", async () => {
  const s = stream();
  s.send({ node: { ...node, id: "delta-listed" }, type_url: CLUSTER_TYPE, resource_names_subscribe: ["alpha"] });
  await s.next();
  const client = await clientStatus("delta-listed", "its stream", () => true);
  assert.equal(client.protocol, "delta");
  const res = await cp.api("GET", "/v1/clients");
  assert.ok(res.body.clients.every((c: any) => c.protocol === "delta" || c.protocol === "sotw"));
});
