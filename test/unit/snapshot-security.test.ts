/**
 * The builder with services' `mtls` and `intentions` (issue 16): which
 * resources appear, named how, carrying what; two services on one address
 * and port; a failing service keeping its server Listeners.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CLUSTER_TYPE, HTTP_CONNECTION_MANAGER_TYPE_NAME, LISTENER_TYPE, RBAC_TYPE_NAME, ROUTER_TYPE_NAME, UPSTREAM_TLS_CONTEXT_TYPE_NAME, loadCodec } from "../../src/proto/index.js";
import type { Service, ServiceEntry } from "../../src/registry/index.js";
import { buildSnapshot, createBuildCache, serverListenerName, type Snapshot } from "../../src/snapshot/index.js";
import { entry, view } from "../helpers/registry-view.js";

const codec = loadCodec();
const OPTIONS = { trustDomain: "corp.example" };

function secured(base: ServiceEntry, fields: Pick<Service, "mtls" | "intentions">): ServiceEntry {
  return { ...base, service: { ...base.service, ...fields } };
}

function listener(snapshot: Snapshot, name: string) {
  const resource = snapshot.resources[LISTENER_TYPE].get(name);
  assert.ok(resource, `no Listener ${name}; have ${[...snapshot.resources[LISTENER_TYPE].keys()].join(", ")}`);
  return codec.decodeResource(LISTENER_TYPE, resource.body);
}

test("snapshot security - mtls off and no intentions: no server Listener, the same bytes as a service without the fields", () => {
  const plain = entry("orders", [{ id: "i1" }]);
  const off = secured(plain, { mtls: "off" });
  const a = buildSnapshot(view(1, [plain]), codec, undefined, undefined, OPTIONS).snapshot;
  const b = buildSnapshot(view(1, [off]), codec, undefined, undefined, OPTIONS).snapshot;
  assert.deepEqual([...b.resources[LISTENER_TYPE].keys()], ["orders"]);
  assert.equal(a.version, b.version);
});

test("snapshot security - strict: the Cluster dials mTLS checking the service's SPIFFE ID in the given trust domain; one server Listener per instance", () => {
  const orders = secured(entry("orders", [{ id: "i1", address: "127.0.0.1", port: 7001 }, { id: "i2", address: "127.0.0.2", port: 7002, health: "unhealthy" }]), { mtls: "strict" });
  const result = buildSnapshot(view(1, [orders]), codec, createBuildCache(), undefined, OPTIONS);
  assert.equal(result.ok, true);
  const names = [serverListenerName("127.0.0.1", 7001), serverListenerName("127.0.0.2", 7002)];
  assert.deepEqual([...result.snapshot.resources[LISTENER_TYPE].keys()], [...names, "orders"].sort());
  assert.equal(listener(result.snapshot, names[0]!).filter_chains?.[0]?.name, "orders-inbound");
  const cluster = codec.decodeResource(CLUSTER_TYPE, result.snapshot.resources[CLUSTER_TYPE].get("orders")!.body);
  assert.ok(cluster.transport_socket?.typed_config, "strict Cluster has a transport socket");
  const tls = codec.unpackAny(UPSTREAM_TLS_CONTEXT_TYPE_NAME, cluster.transport_socket.typed_config);
  assert.deepEqual(tls.common_tls_context?.validation_context?.match_subject_alt_names, [{ exact: "spiffe://corp.example/service/orders", ignore_case: false }]);
});

test("snapshot security - a deny intention puts the RBAC filter on the destination's server Listener, and removing it takes it off", () => {
  const base = entry("orders", [{ id: "i1", address: "127.0.0.1", port: 7001 }]);
  const cache = createBuildCache();
  const denied = buildSnapshot(view(1, [secured(base, { mtls: "strict", intentions: { web: "deny" } })]), codec, cache, undefined, OPTIONS);
  const name = serverListenerName("127.0.0.1", 7001);
  const filtersOf = (snapshot: Snapshot) => {
    const chain = listener(snapshot, name).filter_chains?.[0];
    const manager = codec.unpackAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, chain!.filters![0]!.typed_config!);
    return (manager.http_filters ?? []).map((filter) => filter.typed_config?.type_url.split("/")[1]);
  };
  assert.deepEqual(filtersOf(denied.snapshot), [RBAC_TYPE_NAME, ROUTER_TYPE_NAME]);
  const allowed = buildSnapshot(view(2, [secured(base, { mtls: "strict" })]), codec, cache, denied.snapshot, OPTIONS);
  assert.deepEqual(filtersOf(allowed.snapshot), [ROUTER_TYPE_NAME]);
  assert.notEqual(allowed.snapshot.resources[LISTENER_TYPE].get(name)?.version, denied.snapshot.resources[LISTENER_TYPE].get(name)?.version);
});

test("snapshot security - intentions alone (mtls off) give server Listeners; turning both off removes them", () => {
  const base = entry("orders", [{ id: "i1", address: "127.0.0.1", port: 7001 }]);
  const cache = createBuildCache();
  const on = buildSnapshot(view(1, [secured(base, { intentions: { "*": "deny" } })]), codec, cache, undefined, OPTIONS);
  assert.ok(on.snapshot.resources[LISTENER_TYPE].has(serverListenerName("127.0.0.1", 7001)));
  const off = buildSnapshot(view(2, [base]), codec, cache, on.snapshot, OPTIONS);
  assert.deepEqual([...off.snapshot.resources[LISTENER_TYPE].keys()], ["orders"]);
});

test("snapshot security - two services on one address and port: the first in name order keeps the server Listener, the later one fails and says why", () => {
  const a = secured(entry("alpha", [{ id: "i1", address: "127.0.0.1", port: 7001 }]), { mtls: "strict" });
  const b = secured(entry("beta", [{ id: "i1", address: "127.0.0.1", port: 7001 }]), { mtls: "permissive" });
  const result = buildSnapshot(view(1, [a, b]), codec, createBuildCache(), undefined, OPTIONS);
  assert.equal(result.ok, false);
  assert.deepEqual(result.failures.map((f) => f.service), ["beta"]);
  assert.match(result.failures[0]!.issues[0]!.message, /server Listener grpc\/server\?xds\.resource\.listening_address=127\.0\.0\.1:7001 is already service alpha's/);
  assert.equal(listener(result.snapshot, serverListenerName("127.0.0.1", 7001)).filter_chains?.[0]?.name, "alpha-inbound");
  assert.equal(result.snapshot.resources[LISTENER_TYPE].has("beta"), false, "beta never built, so it has nothing");
});

test("snapshot security - a service that stops building keeps its server Listeners from the previous snapshot", () => {
  const good = secured(entry("orders", [{ id: "i1", address: "127.0.0.1", port: 7001 }]), { mtls: "strict" });
  const cache = createBuildCache();
  const first = buildSnapshot(view(1, [good]), codec, cache, undefined, OPTIONS);
  const broken = secured(entry("orders", [{ id: "i1", address: "127.0.0.1", port: 7001 }, { id: "i2", address: "127.0.0.1", port: 7001 }]), { mtls: "strict", intentions: { web: "deny" } });
  const second = buildSnapshot(view(2, [broken]), codec, cache, first.snapshot, OPTIONS);
  assert.equal(second.ok, false);
  assert.equal(second.failures[0]?.kept, true);
  const name = serverListenerName("127.0.0.1", 7001);
  assert.equal(second.snapshot.resources[LISTENER_TYPE].get(name), first.snapshot.resources[LISTENER_TYPE].get(name));
});

test("snapshot security - a cache built for one trust domain is not used for another", () => {
  const orders = secured(entry("orders", [{ id: "i1" }]), { mtls: "strict" });
  const cache = createBuildCache();
  buildSnapshot(view(1, [orders]), codec, cache, undefined, OPTIONS);
  const other = buildSnapshot(view(1, [orders]), codec, cache, undefined, { trustDomain: "other.example" });
  const cluster = codec.decodeResource(CLUSTER_TYPE, other.snapshot.resources[CLUSTER_TYPE].get("orders")!.body);
  const tls = codec.unpackAny(UPSTREAM_TLS_CONTEXT_TYPE_NAME, cluster.transport_socket!.typed_config!);
  assert.deepEqual(tls.common_tls_context?.validation_context?.match_subject_alt_names, [{ exact: "spiffe://other.example/service/orders", ignore_case: false }]);
});
