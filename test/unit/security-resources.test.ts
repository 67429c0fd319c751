import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import {
  CLUSTER_TYPE,
  DOWNSTREAM_TLS_CONTEXT_TYPE_NAME,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  LISTENER_TYPE,
  RBAC_TYPE_NAME,
  UPSTREAM_TLS_CONTEXT_TYPE_NAME,
  loadCodec,
  type Cluster,
  type Listener,
  type ResourceTypeUrl,
} from "../../src/proto/index.js";
import { checkResource } from "../../src/resources/index.js";
import {
  encodeServerListeners,
  rbacFor,
  serverListenerFor,
  serverListenerName,
  serviceSecurityOf,
  withClusterSecurity,
  type ServiceSecurity,
} from "../../src/snapshot/security-resources.js";
import { entry } from "../helpers/registry-view.js";

const codec = loadCodec();
const options = { trustDomain: "mesh.test" };
const cluster: Cluster = { name: "orders", type: "EDS", eds_cluster_config: { eds_config: { ads: {}, resource_api_version: "V3" }, service_name: "orders" }, lb_policy: "ROUND_ROBIN" };
const instance = { service: "orders", address: "127.0.0.1", port: 50051 };
const strict = (fields: Partial<ServiceSecurity> = {}): ServiceSecurity => ({ mode: "strict", defaultAction: "allow", intentions: [], ...fields });

// ---- The stock validators, with the `steadymesh` provider in the bootstrap and RBAC on ----

interface StockResourceType {
  decode(context: object, resource: { type_url: string; value: Buffer }): { error?: string };
}

/**
 * grpc-js-xds registers the RBAC filter at load time only when
 * GRPC_XDS_EXPERIMENTAL_RBAC=true (environment.js reads it once). The unit
 * suite loads the package in one process for every file, so the flag is set
 * on the loaded module and the filter registered again, as a server started
 * with the variable would have it.
 */
async function stockValidator(type: ResourceTypeUrl): Promise<StockResourceType> {
  const xds = await import("@grpc/grpc-js-xds");
  xds.register();
  const require = createRequire(import.meta.url);
  const src = "@grpc/grpc-js-xds/build/src";
  require(`${src}/environment.js`).EXPERIMENTAL_RBAC = true;
  require(`${src}/http-filter/rbac-filter.js`).setup();
  const dir = `${src}/xds-resource-type`;
  return type === LISTENER_TYPE
    ? require(`${dir}/listener-resource-type.js`).ListenerResourceType.get()
    : require(`${dir}/cluster-resource-type.js`).ClusterResourceType.get();
}

async function stockError(type: ResourceTypeUrl, body: Uint8Array, providers: object = { steadymesh: {} }): Promise<string | undefined> {
  const validator = await stockValidator(type);
  try {
    return validator.decode({ bootstrap: { certificateProviders: providers } }, { type_url: type, value: Buffer.from(body) }).error;
  } catch (error) {
    return `threw: ${String(error)}`;
  }
}

function ours(type: ResourceTypeUrl, message: object): { paths: string[]; messages: string[] } {
  const checked = checkResource(codec, type, codec.encodeResource(type, message as never));
  const issues = checked.ok ? [] : checked.issues;
  return { paths: issues.map((issue) => issue.path), messages: issues.map((issue) => issue.message) };
}

/** The server Listener with its one filter chain's parts replaced. */
function serverListener(parts: { transport?: object; rbac?: object; routes?: object[]; socketName?: string }): Listener {
  const base = serverListenerFor(instance, strict(), options, codec);
  const chain = base.filter_chains?.[0];
  assert.ok(chain);
  const filters = [
    ...(parts.rbac ? [{ name: "rbac", typed_config: codec.packAny(RBAC_TYPE_NAME, parts.rbac as never) }] : []),
    { name: "router", typed_config: codec.packAny("envoy.extensions.filters.http.router.v3.Router", {}) },
  ];
  const hcm = codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, {
    stat_prefix: "orders",
    route_config: { name: "orders", virtual_hosts: [{ name: "orders", domains: ["*"], routes: (parts.routes ?? [{ match: { prefix: "" }, non_forwarding_action: {} }]) as never }] },
    http_filters: filters,
  });
  const transport = parts.transport
    ? { name: parts.socketName ?? "envoy.transport_sockets.tls", typed_config: codec.packAny(DOWNSTREAM_TLS_CONTEXT_TYPE_NAME, parts.transport as never) }
    : chain.transport_socket;
  return { ...base, filter_chains: [{ ...chain, filters: [{ name: "hcm", typed_config: hcm }], ...(transport ? { transport_socket: transport } : {}) }] };
}

// ---- What the builder makes --------------------------------------------------

test("security resources - the server Listener is named by the template and carries the bound address", () => {
  assert.equal(serverListenerName("127.0.0.1", 50051), "grpc/server?xds.resource.listening_address=127.0.0.1:50051");
  assert.equal(serverListenerName("::1", 8443, "xds/%s"), "xds/[::1]:8443");
  const listener = serverListenerFor(instance, strict(), options, codec);
  assert.equal(listener.name, "grpc/server?xds.resource.listening_address=127.0.0.1:50051");
  assert.deepEqual(listener.address, { socket_address: { address: "127.0.0.1", port_value: 50051 } });
});

for (const mode of ["off", "permissive", "strict"] as const) {
  for (const defaultAction of ["allow", "deny"] as const) {
    test(`security resources - ${mode}, default ${defaultAction}: the guard and the stock server and client accept what the builder makes`, async () => {
      const security: ServiceSecurity = { mode, defaultAction, intentions: [{ source: "web", destination: "orders", action: defaultAction === "allow" ? "deny" : "allow" }] };
      const listener = codec.encodeResource(LISTENER_TYPE, serverListenerFor(instance, security, options, codec));
      assert.equal(checkResource(codec, LISTENER_TYPE, listener).ok, true);
      assert.equal(await stockError(LISTENER_TYPE, listener), undefined);
      const secured = codec.encodeResource(CLUSTER_TYPE, withClusterSecurity(cluster, mode, options, codec));
      assert.equal(checkResource(codec, CLUSTER_TYPE, secured).ok, true);
      assert.equal(await stockError(CLUSTER_TYPE, secured), undefined);
    });
  }
}

test("security resources - only strict gives the server a DownstreamTlsContext that requires a client certificate", () => {
  for (const mode of ["off", "permissive"] as const) {
    assert.equal(serverListenerFor(instance, strict({ mode }), options, codec).filter_chains?.[0]?.transport_socket, undefined, mode);
  }
  const socket = serverListenerFor(instance, strict(), options, codec).filter_chains?.[0]?.transport_socket;
  assert.ok(socket?.typed_config);
  const context = codec.unpackAny(DOWNSTREAM_TLS_CONTEXT_TYPE_NAME, socket.typed_config);
  assert.equal(context.require_client_certificate?.value, true);
  assert.equal(context.common_tls_context?.tls_certificate_provider_instance?.instance_name, "steadymesh");
  assert.equal(context.common_tls_context?.validation_context?.ca_certificate_provider_instance?.instance_name, "steadymesh");
});

test("security resources - only strict gives the Cluster an UpstreamTlsContext, which checks the service's SPIFFE ID", () => {
  assert.equal(withClusterSecurity(cluster, "off", options, codec), cluster);
  assert.equal(withClusterSecurity(cluster, "permissive", options, codec), cluster);
  const socket = withClusterSecurity(cluster, "strict", { ...options, providerInstance: "mine" }, codec).transport_socket;
  assert.ok(socket?.typed_config);
  const context = codec.unpackAny(UPSTREAM_TLS_CONTEXT_TYPE_NAME, socket.typed_config);
  assert.deepEqual(context.common_tls_context?.validation_context?.match_subject_alt_names?.map((m) => m.exact), ["spiffe://mesh.test/service/orders"]);
  assert.equal(context.common_tls_context?.tls_certificate_provider_instance?.instance_name, "mine");
});

test("security resources - RBAC: default allow denies the deny intentions' sources, default deny allows only the allow intentions'", () => {
  assert.equal(rbacFor("orders", strict(), "td"), undefined, "nothing to deny: no filter");
  const intentions = [
    { source: "web", destination: "orders", action: "deny" },
    { source: "batch", destination: "orders", action: "allow" },
    { source: "web", destination: "payments", action: "allow" },
    { source: "cron", destination: "orders", action: "deny" },
  ] as const;
  const denying = rbacFor("orders", strict({ intentions }), "td");
  assert.equal(denying?.rules?.action, "DENY");
  assert.deepEqual(Object.keys(denying?.rules?.policies ?? {}), ["deny:cron", "deny:web"]);
  assert.deepEqual(denying?.rules?.policies["deny:web"]?.principals, [{ authenticated: { principal_name: { exact: "spiffe://td/service/web" } } }]);
  const allowing = rbacFor("orders", strict({ defaultAction: "deny", intentions }), "td");
  assert.equal(allowing?.rules?.action, "ALLOW");
  assert.deepEqual(Object.keys(allowing?.rules?.policies ?? {}), ["allow:batch"]);
  const nobody = rbacFor("payments", strict({ defaultAction: "deny", intentions: [] }), "td");
  assert.deepEqual(nobody?.rules, { action: "ALLOW", policies: {} }, "default deny and no allow: every call is denied");
});

test("security resources - the RBAC filter comes before the router only when it has something to do", () => {
  const names = (security: ServiceSecurity) => {
    const any = serverListenerFor(instance, security, options, codec).filter_chains?.[0]?.filters[0]?.typed_config;
    assert.ok(any);
    return codec.unpackAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, any).http_filters.map((filter) => filter.name);
  };
  assert.deepEqual(names(strict()), ["envoy.filters.http.router"]);
  assert.deepEqual(names(strict({ defaultAction: "deny" })), ["envoy.filters.http.rbac", "envoy.filters.http.router"]);
});

test("security resources - one server Listener per instance address, in name order", () => {
  const service = entry("orders", [{ id: "b", address: "10.0.0.2", port: 7000 }, { id: "a", address: "10.0.0.1", port: 7000 }, { id: "c", address: "10.0.0.1", port: 7000 }]);
  const resources = encodeServerListeners(service, strict(), options, codec);
  assert.deepEqual(resources.map((r) => r.name), [serverListenerName("10.0.0.1", 7000), serverListenerName("10.0.0.2", 7000)]);
  assert.ok(resources.every((r) => r.typeUrl === LISTENER_TYPE));
});

// ---- What the guard rejects, as the stock server or client does -------------

const provider = { instance_name: "steadymesh" };
const CASES: { name: string; type: ResourceTypeUrl; message: () => object; path: string; pattern: RegExp; stock?: RegExp }[] = [
  { name: "a DownstreamTlsContext without a server certificate", type: LISTENER_TYPE,
    message: () => serverListener({ transport: { common_tls_context: { validation_context: { ca_certificate_provider_instance: provider } } } }),
    path: "filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_provider_instance", pattern: /^is required/,
    stock: /DownstreamTlsContext\.common_tls_context\.tls_certificate_provider_instance/ },
  { name: "require_client_certificate without a validation context", type: LISTENER_TYPE,
    message: () => serverListener({ transport: { common_tls_context: { tls_certificate_provider_instance: provider }, require_client_certificate: { value: true } } }),
    path: "filter_chains[0].transport_socket.typed_config.require_client_certificate", pattern: /needs a validation_context/,
    stock: /require_client_certificate set without any validationContext/ },
  { name: "a transport socket that is not TLS", type: LISTENER_TYPE, message: () => serverListener({ transport: { common_tls_context: { tls_certificate_provider_instance: provider } }, socketName: "raw" }),
    path: "filter_chains[0].transport_socket.name", pattern: /^must be envoy\.transport_sockets\.tls/, stock: /Unexpected transport_socket\.name: raw/ },
  { name: "an RBAC filter without rules", type: LISTENER_TYPE, message: () => serverListener({ rbac: {} }),
    path: "filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.rules", pattern: /^is required/, stock: /rbac filter validation failed/ },
  { name: "an RBAC filter with action LOG", type: LISTENER_TYPE, message: () => serverListener({ rbac: { rules: { action: "LOG", policies: {} } } }),
    path: "filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.rules.action", pattern: /^LOG is not supported/, stock: /rbac filter validation failed/ },
  { name: "a server route that forwards", type: LISTENER_TYPE, message: () => serverListener({ routes: [{ match: { prefix: "" }, route: { cluster: "orders" } }] }),
    path: "filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route", pattern: /rejects every request on this route; allowed: non_forwarding_action$/ },
  { name: "an RBAC filter on a client's api_listener", type: LISTENER_TYPE,
    message: () => ({ name: "orders", api_listener: { api_listener: codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, {
      stat_prefix: "orders", rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "orders" },
      http_filters: [{ name: "rbac", typed_config: codec.packAny(RBAC_TYPE_NAME, { rules: { action: "DENY", policies: {} } }) }, { name: "router", typed_config: codec.packAny("envoy.extensions.filters.http.router.v3.Router", {}) }],
    }) } }),
    path: "api_listener.api_listener.http_filters[0].typed_config", pattern: /runs only on servers/, stock: /rbac filter validation failed/ },
  { name: "an UpstreamTlsContext without a CA provider", type: CLUSTER_TYPE,
    message: () => ({ ...cluster, transport_socket: { name: "envoy.transport_sockets.tls", typed_config: codec.packAny(UPSTREAM_TLS_CONTEXT_TYPE_NAME, { common_tls_context: { tls_certificate_provider_instance: provider, validation_context: {} } }) } }),
    path: "transport_socket.typed_config.common_tls_context.validation_context.ca_certificate_provider_instance", pattern: /^is required/,
    stock: /ca_certificate_provider_instance unset/ },
  { name: "an UpstreamTlsContext without a validation context", type: CLUSTER_TYPE,
    message: () => ({ ...cluster, transport_socket: { name: "envoy.transport_sockets.tls", typed_config: codec.packAny(UPSTREAM_TLS_CONTEXT_TYPE_NAME, { common_tls_context: { tls_certificate_provider_instance: provider } }) } }),
    path: "transport_socket.typed_config.common_tls_context.validation_context", pattern: /^is required/, stock: /Unsupported UpstreamTlsContext\.common_tls_context\.validation_context_type/ },
];

for (const c of CASES) {
  test(`security resources - the guard rejects ${c.name}`, async () => {
    const message = c.message();
    const found = ours(c.type, message);
    assert.deepEqual(found.paths, [c.path], JSON.stringify(found));
    assert.match(found.messages[0] ?? "", c.pattern);
    if (c.stock) assert.match((await stockError(c.type, codec.encodeResource(c.type, message as never))) ?? "accepted", c.stock);
  });
}

test("security resources - a change of mode changes the filter's bytes, which is all grpc-js-xds 1.14.1 compares reliably", () => {
  const filterBytes = (mode: ServiceSecurity["mode"]) => Buffer.from(serverListenerFor(instance, strict({ mode }), options, codec).filter_chains?.[0]?.filters[0]?.typed_config?.value ?? []);
  assert.notDeepEqual(filterBytes("strict"), filterBytes("permissive"));
  assert.notDeepEqual(filterBytes("strict"), filterBytes("off"));
});

test("security resources - an intention from '*' sets its destination's default, as in Consul", () => {
  const intentions = [
    { source: "*", destination: "orders", action: "deny" },
    { source: "web", destination: "orders", action: "allow" },
    { source: "web", destination: "payments", action: "deny" },
  ] as const;
  assert.deepEqual(serviceSecurityOf("orders", "strict", intentions), { mode: "strict", defaultAction: "deny", intentions: [intentions[1]] });
  assert.deepEqual(serviceSecurityOf("payments", "off", intentions), { mode: "off", defaultAction: "allow", intentions: [intentions[2]] });
  assert.deepEqual(rbacFor("orders", serviceSecurityOf("orders", "strict", intentions), "td")?.rules?.action, "ALLOW");
});
