import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { validateSnapshot } from "../../src/guard/validate.js";
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  RESOURCE_TYPES,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  loadCodec,
  type ResourceTypeUrl,
} from "../../src/proto/index.js";
import type { RegistryView } from "../../src/registry/index.js";
import { buildSnapshot, createResource, createSnapshot, type Resource, type Snapshot } from "../../src/snapshot/index.js";

import { entry, view } from "../helpers/registry-view.js";
import { xdsMessages } from "../helpers/xds-messages.js";

const codec = loadCodec();

// ---- Registry views → valid snapshots (as in snapshot.test.ts) ------------

function build(registry: RegistryView): Snapshot {
  const result = buildSnapshot(registry, codec);
  assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.errors));
  return result.snapshot;
}

/** A valid snapshot with service `greeter` (one endpoint, 10.0.0.1:8080). */
const base = build(view(1, [entry("greeter", [{ id: "a" }])]));

/** `snapshot` with resource `name` of `type` replaced by (or filed as) `resource`. */
function replace(snapshot: Snapshot, type: ResourceTypeUrl, resource: Resource, name = "greeter"): Snapshot {
  const maps = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, new Map(snapshot.resources[t])]));
  maps[type]?.set(name, resource);
  return createSnapshot(snapshot.revision, maps);
}

function withBody(type: ResourceTypeUrl, body: Uint8Array): Snapshot {
  return replace(base, type, createResource(type, "greeter", body));
}

// ---- Hand-written resources, valid unless a case changes them -------------

const { ADS, OTHER_ANY, router, packHcm, listener, forward, vhost, routeConfig, cluster, endpoint, group, cla } = xdsMessages(codec);
const filterChain = (name: string, match: object, filters = [{ name: "hcm", typed_config: packHcm() }]) => ({ name, filter_chain_match: match, filters });
const serverListener = (chains: object[]) => ({ name: "greeter", filter_chains: chains });
const cidr = (address_prefix: string, prefix_len: number) => ({ address_prefix, prefix_len: { value: prefix_len } });
const withRoutes = (...routes: object[]) => routeConfig([vhost({ routes })]);
const ringHash = (config: object) => cluster({ lb_policy: "RING_HASH", ring_hash_lb_config: config });

// ---- The stock client's own validators, to show a case is a real NACK -----

interface StockResourceType {
  decode(context: object, resource: { type_url: string; value: Buffer }): { error?: string };
}

let stockValidators: Promise<Record<ResourceTypeUrl, StockResourceType>> | undefined;

function loadStock(): Promise<Record<ResourceTypeUrl, StockResourceType>> {
  stockValidators ??= import("@grpc/grpc-js-xds").then((xds) => {
    xds.register(); // registers the HTTP filters the Listener validator looks up
    const require = createRequire(import.meta.url);
    const dir = "@grpc/grpc-js-xds/build/src/xds-resource-type";
    return {
      [LISTENER_TYPE]: require(`${dir}/listener-resource-type.js`).ListenerResourceType.get(),
      [ROUTE_TYPE]: require(`${dir}/route-config-resource-type.js`).RouteConfigurationResourceType.get(),
      [CLUSTER_TYPE]: require(`${dir}/cluster-resource-type.js`).ClusterResourceType.get(),
      [ENDPOINT_TYPE]: require(`${dir}/endpoint-resource-type.js`).EndpointResourceType.get(),
    };
  });
  return stockValidators;
}

/** The stock client's error for `body`; a validator that throws rejects too. */
async function stockError(type: ResourceTypeUrl, body: Uint8Array): Promise<string | undefined> {
  const validators = await loadStock();
  try {
    return validators[type].decode({ bootstrap: { certificateProviders: {} } }, { type_url: type, value: Buffer.from(body) }).error;
  } catch (error) {
    return `threw: ${String(error)}`;
  }
}

// ---- One case per check --------------------------------------------------

interface Case {
  readonly name: string;
  readonly type: ResourceTypeUrl;
  readonly message: object;
  /** Every issue expected, in order: its path and a pattern its message matches. */
  readonly expect: readonly (readonly [string, RegExp])[];
  /** The stock client's own error for it; absent where only Envoy NACKs it, or it would strand a client instead. */
  readonly stock?: RegExp;
}

const HCM_PATH = "LDS/greeter: api_listener.api_listener";
const ROUTE_PATH = "RDS/greeter: virtual_hosts[0].routes[0]";
const SOCKET = "endpoint.address.socket_address";

const CASES: readonly Case[] = [
  { name: "an api_listener holding another type", type: LISTENER_TYPE,
    message: { name: "greeter", api_listener: { api_listener: codec.packAny(ROUTER_TYPE_NAME, {}) } },
    expect: [[`${HCM_PATH}.type_url`, /^must be type\.googleapis\.com\/.*\.HttpConnectionManager, got ".*\.Router"$/]],
    stock: /api_listener\.api_listener\.type_url != / },
  { name: "no HTTP filters", type: LISTENER_TYPE, message: listener({ http_filters: [] }),
    expect: [[`${HCM_PATH}.http_filters`, /^must not be empty; the last filter must be the router/]] },
  { name: "the router before the end", type: LISTENER_TYPE, message: listener({ http_filters: [{ ...router(), name: "first" }, router()] }),
    expect: [[`${HCM_PATH}.http_filters[0].typed_config`, /the router, which must be the last filter and only the last/]],
    stock: /router filter is before the end of the list/ },
  { name: "a last filter that is not the router", type: LISTENER_TYPE,
    message: listener({ http_filters: [{ name: "opt", is_optional: true, typed_config: OTHER_ANY }] }),
    expect: [[`${HCM_PATH}.http_filters[0].typed_config`, /^the last filter must be the router \(.*Router\), got "type\.googleapis\.com\/example\.Unknown"$/]],
    stock: /final filter is type\.googleapis\.com\/example\.Unknown/ },
  { name: "two filters with one name", type: LISTENER_TYPE,
    message: listener({ http_filters: [{ name: "envoy.filters.http.router", is_optional: true, typed_config: OTHER_ANY }, router()] }),
    expect: [[`${HCM_PATH}.http_filters[1].name`, /^"envoy\.filters\.http\.router" is also the name of http_filters\[0\]; filter names must be unique$/]],
    stock: /duplicate HTTP filter name/ },
  { name: "an unknown filter that is not optional", type: LISTENER_TYPE,
    message: listener({ http_filters: [{ name: "custom", typed_config: OTHER_ANY }, router()] }),
    expect: [[`${HCM_PATH}.http_filters[0].typed_config`, /is not a filter gRPC supports; allowed: .*Router, or an unknown filter marked is_optional$/]],
    stock: /custom filter validation failed/ },
  { name: "RDS not over ADS", type: LISTENER_TYPE,
    message: listener({ rds: { config_source: { path_config_source: { path: "/etc/rds" }, resource_api_version: "V3" }, route_config_name: "greeter" } }),
    expect: [[`${HCM_PATH}.rds.config_source`, /^must fetch routes over ADS, got path_config_source; allowed: ads \(or self\)$/]],
    stock: /rds\.config_source\.ads and rds\.config_source\.self both unset/ },
  { name: "an inline route_config checked like RDS", type: LISTENER_TYPE,
    message: listener({ rds: undefined, route_config: { name: "inline", virtual_hosts: [vhost({ domains: ["a*b"] })] } }),
    expect: [[`${HCM_PATH}.route_config.virtual_hosts[0].domains[0]`, /^"a\*b" has a wildcard in the middle; allowed: one \* at the start or the end$/]],
    stock: /route_config: .*wildcard in the middle/ },
  { name: "listener filters", type: LISTENER_TYPE, message: listener({}, { listener_filters: [{ name: "envoy.filters.listener.tls_inspector" }] }),
    expect: [["LDS/greeter: listener_filters", /^must be empty/]],
    stock: /listener_filters populated/ },
  { name: "a listener with neither api_listener nor filter chains", type: LISTENER_TYPE, message: { name: "greeter" },
    expect: [["LDS/greeter", /^has no api_listener, filter_chains or default_filter_chain/]],
    stock: /No api_listener and no filter_chains/ },
  { name: "two filter chains with the same normalized match", type: LISTENER_TYPE,
    message: serverListener([filterChain("a", { prefix_ranges: [cidr("10.1.2.3", 16)] }), filterChain("b", { prefix_ranges: [cidr("10.1.0.0", 16)] })]),
    expect: [["LDS/greeter: filter_chains[1].filter_chain_match", /^repeats a combination of filter_chains\[0\]; each combination of match fields may appear once per Listener$/]],
    stock: /duplicate filter_chain_match entry in filter chain b/ },
  { name: "a filter chain with two filters", type: LISTENER_TYPE,
    message: serverListener([filterChain("a", {}, [{ name: "one", typed_config: packHcm() }, { name: "two", typed_config: packHcm() }])]),
    expect: [["LDS/greeter: filter_chains[0].filters", /^must hold exactly one filter, an HttpConnectionManager; got 2$/]],
    stock: /Incorrect filters length: 2/ },
  { name: "a filter chain prefix that is not an IP", type: LISTENER_TYPE,
    message: serverListener([filterChain("a", { prefix_ranges: [cidr("example.com", 8)] })]),
    expect: [["LDS/greeter: filter_chains[0].filter_chain_match.prefix_ranges[0].address_prefix", /^must be an IPv4 or IPv6 address, got "example\.com"$/]],
    stock: /Invalid IP address prefix example\.com/ },

  { name: "no virtual hosts", type: ROUTE_TYPE, message: routeConfig([]),
    expect: [["RDS/greeter: virtual_hosts", /^must have at least one virtual host/]] },
  { name: "an empty domain", type: ROUTE_TYPE, message: routeConfig([vhost({ domains: [""] })]),
    expect: [["RDS/greeter: virtual_hosts[0].domains[0]", /^must not be empty$/]] },
  { name: "a domain in two virtual hosts", type: ROUTE_TYPE,
    message: routeConfig([vhost({ domains: ["greeter", "*"] }), vhost({ name: "b", domains: ["GREETER"] })]),
    expect: [["RDS/greeter: virtual_hosts[1].domains[0]", /^"GREETER" repeats virtual_hosts\[0\]\.domains\[0\]; each domain may appear once per RouteConfiguration, ignoring case$/]] },
  { name: "a domain with two wildcards", type: ROUTE_TYPE, message: routeConfig([vhost({ domains: ["*.a.*"] })]),
    expect: [["RDS/greeter: virtual_hosts[0].domains[0]", /^"\*\.a\.\*" has more than one wildcard/]],
    stock: /domains entry has multiple wildcards/ },
  { name: "a route without match", type: ROUTE_TYPE, message: withRoutes({ route: { cluster: "greeter" } }),
    expect: [[`${ROUTE_PATH}.match`, /^is required$/]],
    stock: /match unset/ },
  { name: "an unsupported path specifier", type: ROUTE_TYPE, message: withRoutes({ ...forward(), match: { path_separated_prefix: "/x" } }),
    expect: [[`${ROUTE_PATH}.match.path_separated_prefix`, /^is not supported by gRPC clients; allowed: prefix, path, safe_regex$/]],
    stock: /unsupported path_specifier: path_separated_prefix/ },
  { name: "a contains_match header matcher", type: ROUTE_TYPE,
    message: withRoutes({ ...forward(), match: { prefix: "", headers: [{ name: "x", contains_match: "y" }] } }),
    expect: [[`${ROUTE_PATH}.match.headers[0].contains_match`, /^is not supported by gRPC clients; allowed: exact_match, /]],
    stock: /unsupported header_match_specifier: contains_match/ },
  { name: "a redirect instead of a route action", type: ROUTE_TYPE, message: withRoutes({ match: { prefix: "" }, redirect: { host_redirect: "x" } }),
    expect: [[`${ROUTE_PATH}.redirect`, /^is not supported for gRPC clients; allowed: route$/]],
    stock: /unsupported action: redirect/ },
  { name: "an empty cluster name", type: ROUTE_TYPE, message: withRoutes(forward({ cluster: "" })),
    expect: [[`${ROUTE_PATH}.route.cluster`, /^refers to CDS "", which the snapshot does not contain$/], [`${ROUTE_PATH}.route.cluster`, /^must not be empty$/]] },
  { name: "weighted clusters weighing 0", type: ROUTE_TYPE,
    message: withRoutes({ match: { prefix: "" }, route: { weighted_clusters: { clusters: [{ name: "greeter", weight: { value: 0 } }] } } }),
    expect: [[`${ROUTE_PATH}.route.weighted_clusters.clusters`, /^weights add up to 0; the sum must be 1-4294967295$/]],
    stock: /sum of weights is 0/ },
  { name: "a retry policy with zero retries", type: ROUTE_TYPE, message: withRoutes(forward({ retry_policy: { num_retries: { value: 0 } } })),
    expect: [[`${ROUTE_PATH}.route.retry_policy.num_retries.value`, /^must be at least 1 when set, got 0$/]],
    stock: /Invalid policy\.num_retries\.value: 0/ },
  { name: "a route to a cluster the snapshot lacks", type: ROUTE_TYPE, message: withRoutes(forward({ cluster: "ghost" })),
    expect: [[`${ROUTE_PATH}.route.cluster`, /^refers to CDS "ghost", which the snapshot does not contain$/]] },

  { name: "lb_policy MAGLEV", type: CLUSTER_TYPE, message: cluster({ lb_policy: "MAGLEV" }),
    expect: [["CDS/greeter: lb_policy", /^MAGLEV is not supported by gRPC clients; allowed: ROUND_ROBIN, RING_HASH$/]],
    stock: /unsupported lb_policy: MAGLEV/ },
  { name: "a STATIC cluster", type: CLUSTER_TYPE, message: cluster({ type: "STATIC", eds_cluster_config: undefined }),
    expect: [["CDS/greeter: type", /^STATIC is not supported by gRPC clients; allowed: EDS, LOGICAL_DNS, or cluster_type envoy.clusters.aggregate$/]],
    stock: /Unsupported type STATIC/ },
  { name: "an EDS cluster without an ADS eds_config", type: CLUSTER_TYPE, message: cluster({ eds_cluster_config: { service_name: "greeter" } }),
    expect: [["CDS/greeter: eds_cluster_config.eds_config", /^must fetch endpoints over ADS, got no config source; allowed: ads \(or self\)$/]],
    stock: /eds_config\.ads and eds_cluster_config\.eds_config\.self both unset/ },
  { name: "ring hash with MURMUR_HASH_2", type: CLUSTER_TYPE, message: ringHash({ hash_function: "MURMUR_HASH_2" }),
    expect: [["CDS/greeter: ring_hash_lb_config.hash_function", /^MURMUR_HASH_2 is not supported by gRPC clients; allowed: XX_HASH$/]],
    stock: /unsupported ring_hash_lb_config\.hash_function: MURMUR_HASH_2/ },
  { name: "a ring larger than 8,388,608", type: CLUSTER_TYPE, message: ringHash({ maximum_ring_size: { value: 9_000_000 } }),
    expect: [["CDS/greeter: ring_hash_lb_config.maximum_ring_size", /^must be at most 8388608, got 9000000$/]],
    stock: /maximum_ring_size is too large: 9000000/ },
  { name: "a minimum ring size above the maximum", type: CLUSTER_TYPE,
    message: ringHash({ minimum_ring_size: { value: 4096 }, maximum_ring_size: { value: 2048 } }),
    expect: [["CDS/greeter: ring_hash_lb_config", /^minimum_ring_size \(4096\) must not exceed maximum_ring_size \(2048\)$/]] },
  { name: "a load_balancing_policy with no supported policy", type: CLUSTER_TYPE,
    message: cluster({ load_balancing_policy: { policies: [{ typed_extension_config: { name: "x", typed_config: OTHER_ANY } }] } }),
    expect: [["CDS/greeter: load_balancing_policy", /^has no policy gRPC clients support; allowed: .*RoundRobin, or lb_policy instead$/]],
    stock: /No registered LB policy found in list/ },
  { name: "an lrs_server that is not self", type: CLUSTER_TYPE, message: cluster({ lrs_server: ADS }),
    expect: [["CDS/greeter: lrs_server", /^must be `self` when set/]],
    stock: /lrs_server\.self unset/ },
  { name: "a transport_socket without an UpstreamTlsContext", type: CLUSTER_TYPE, message: cluster({ transport_socket: { name: "envoy.transport_sockets.tls" } }),
    expect: [["CDS/greeter: transport_socket.typed_config", /^is required; it must hold a .*UpstreamTlsContext$/]],
    stock: /transport_socket\.typed_config unset/ },

  { name: "a locality group without locality", type: ENDPOINT_TYPE, message: cla({ lb_endpoints: [endpoint("10.0.0.1", 8080)] }),
    expect: [["EDS/greeter: endpoints[0].locality", /^is required; gRPC clients NACK a locality group without one$/]],
    stock: /endpoints\[0\]\.locality unset/ },
  { name: "port 0", type: ENDPOINT_TYPE, message: cla(group([endpoint("10.0.0.1", 8080), endpoint("10.0.0.2", 0)])),
    expect: [[`EDS/greeter: endpoints[0].lb_endpoints[1].${SOCKET}.port_value`, /^must be 1-65535, got 0$/]] },
  { name: "a host name instead of an IP", type: ENDPOINT_TYPE, message: cla(group([endpoint("greeter.local", 8080)])),
    expect: [[`EDS/greeter: endpoints[0].lb_endpoints[0].${SOCKET}.address`, /^must be an IPv4 or IPv6 address .*, got "greeter\.local"$/]],
    stock: /not a valid IPv4 or IPv6 address: greeter\.local/ },
  { name: "a named port", type: ENDPOINT_TYPE,
    message: cla(group([{ endpoint: { address: { socket_address: { address: "10.0.0.1", named_port: "grpc" } } }, health_status: "HEALTHY" }])),
    expect: [[`EDS/greeter: endpoints[0].lb_endpoints[0].${SOCKET}.named_port`, /^is not supported by gRPC clients; allowed: port_value$/]],
    stock: /Unsupported port_specifier: named_port/ },
  { name: "one address:port twice", type: ENDPOINT_TYPE,
    message: cla(group([endpoint("::1", 8080)]), group([endpoint("::1", 8080)], { locality: { region: "r", zone: "z2" } })),
    expect: [[`EDS/greeter: endpoints[1].lb_endpoints[0].${SOCKET}`, /^\[::1\]:8080 duplicates endpoints\[0\]\.lb_endpoints\[0\]; each address:port may appear once per ClusterLoadAssignment$/]],
    stock: /address is a duplicate of another address/ },
  { name: "one locality twice at one priority", type: ENDPOINT_TYPE,
    message: cla(group([endpoint("10.0.0.1", 8080)]), group([endpoint("10.0.0.2", 8080)])),
    expect: [["EDS/greeter: endpoints[1].locality", /^has the same region, zone and sub_zone as endpoints\[0\] at priority 0/]],
    stock: /endpoints\[1\]\.locality is a duplicate/ },
  { name: "a gap in priorities", type: ENDPOINT_TYPE,
    message: cla(group([endpoint("10.0.0.1", 8080)]), group([endpoint("10.0.0.2", 8080)], { priority: 2 })),
    expect: [["EDS/greeter: endpoints[1].priority", /^is 2, but no locality group has priority 1; priorities must run from 0 without gaps$/]],
    stock: /Endpoints have priority 2 but not 1/ },
  { name: "a locality weight of 0", type: ENDPOINT_TYPE, message: cla(group([endpoint("10.0.0.1", 8080)], { load_balancing_weight: { value: 0 } })),
    expect: [["EDS/greeter: endpoints[0].load_balancing_weight.value", /^must be 1-4294967295 when set, got 0$/]] },
  { name: "an endpoint weight of 0", type: ENDPOINT_TYPE, message: cla(group([endpoint("10.0.0.1", 8080, { load_balancing_weight: { value: 0 } })])),
    expect: [["EDS/greeter: endpoints[0].lb_endpoints[0].load_balancing_weight.value", /^must be 1-4294967295 when set, got 0$/]] },
  { name: "locality weights above 2^32-1 at one priority", type: ENDPOINT_TYPE,
    message: cla(
      group([endpoint("10.0.0.1", 8080)], { load_balancing_weight: { value: 3e9 } }),
      group([endpoint("10.0.0.2", 8080)], { locality: { zone: "z2" }, load_balancing_weight: { value: 3e9 } }),
    ),
    expect: [["EDS/greeter: endpoints[0].load_balancing_weight", /^locality weights at priority 0 add up to 6000000000; the sum must be at most 4294967295$/]],
    stock: /priority 0 has total weight greater than UINT32_MAX/ },
  { name: "a cluster_name other than the resource name", type: ENDPOINT_TYPE,
    message: { ...cla(group([endpoint("10.0.0.1", 8080)])), cluster_name: "other" },
    expect: [["EDS/greeter: cluster_name", /^is "other", but the resource is stored under "greeter"$/]] },
];

for (const c of CASES) {
  test(`guard validate - rejects ${c.name}`, async () => {
    const body = codec.encodeResource(c.type, c.message as never);
    const issues = validateSnapshot(codec, withBody(c.type, body));
    assert.deepEqual(issues.map((issue) => issue.path), c.expect.map(([path]) => path), JSON.stringify(issues));
    c.expect.forEach(([, pattern], i) => assert.match(issues[i]?.message ?? "", pattern));
    if (c.stock) assert.match((await stockError(c.type, body)) ?? "accepted", c.stock, "the stock client rejects it, for the same reason");
  });
}

// ---- Whole-snapshot behaviour ---------------------------------------------

test("guard validate - a snapshot from the builder is valid", () => {
  const snapshot = build(view(3, [
    entry("login", [{ id: "a", zone: "z1" }, { id: "b", zone: "z2", address: "::1", health: "unknown" }, { id: "c", zone: "z2", weight: 5 }]),
    entry("search", [{ id: "a", region: "eu" }], "ring_hash"),
    entry("empty", []),
  ]));
  assert.deepEqual(validateSnapshot(codec, snapshot), []);
});

test("guard validate - accepts valid resources beyond what the builder makes, as the stock client does", async () => {
  const valid: readonly [ResourceTypeUrl, object][] = [
    [LISTENER_TYPE, listener({ http_filters: [{ name: "opt", is_optional: true, typed_config: OTHER_ANY }, router()] })],
    [LISTENER_TYPE, listener({ rds: undefined, route_config: routeConfig([vhost({ domains: ["*.example.com", "example.*"] })]) })],
    [LISTENER_TYPE, serverListener(["10.1.0.0", "10.2.0.0", "fd00::"].map((prefix, i) => filterChain(`c${i}`, { prefix_ranges: [cidr(prefix, 16)] })))],
    [ROUTE_TYPE, withRoutes(
      { match: { path: "/a.B/C" }, route: { weighted_clusters: { clusters: [{ name: "greeter", weight: { value: 3 } }] } } },
      forward({ retry_policy: { num_retries: { value: 2 } } }),
    )],
    [CLUSTER_TYPE, ringHash({ hash_function: "XX_HASH", minimum_ring_size: { value: 1024 }, maximum_ring_size: { value: 4096 } })],
    [ENDPOINT_TYPE, cla(group([endpoint("10.0.0.1", 8080), endpoint("10.0.0.1", 8081)]), group([endpoint("10.0.0.2", 8080)], { priority: 1 }))],
  ];
  for (const [type, message] of valid) {
    const body = codec.encodeResource(type, message as never);
    assert.deepEqual(validateSnapshot(codec, withBody(type, body)), [], JSON.stringify(message));
    assert.equal(await stockError(type, body), undefined);
  }
});

test("guard validate - undecodable bytes are an issue, reported once, never thrown", () => {
  const garbage = new Uint8Array([0xff, 0xff, 0xff]);
  const snapshot = replace(withBody(ENDPOINT_TYPE, garbage), LISTENER_TYPE, createResource(LISTENER_TYPE, "greeter", garbage));
  const issues = validateSnapshot(codec, snapshot);
  assert.deepEqual(issues.map((issue) => issue.path), ["LDS/greeter", "EDS/greeter"], JSON.stringify(issues));
  assert.match(issues[0]?.message ?? "", /^cannot decode envoy\.config\.listener\.v3\.Listener: /);
  assert.match(issues[1]?.message ?? "", /^cannot decode envoy\.config\.endpoint\.v3\.ClusterLoadAssignment: /);

  // An HttpConnectionManager Any whose bytes are garbage: the consistency check meets it too, but it is reported once.
  const badHcm = { name: "greeter", api_listener: { api_listener: { ...packHcm(), value: garbage } } };
  const nested = validateSnapshot(codec, withBody(LISTENER_TYPE, codec.encodeResource(LISTENER_TYPE, badHcm)));
  assert.deepEqual(nested.map((issue) => issue.path), [HCM_PATH], JSON.stringify(nested));
  assert.match(nested[0]?.message ?? "", /^cannot decode envoy\.extensions\.filters\.network\.http_connection_manager\.v3\.HttpConnectionManager: /);
});

test("guard validate - reports several problems across resources at once", () => {
  let snapshot = withBody(CLUSTER_TYPE, codec.encodeResource(CLUSTER_TYPE, cluster({ lb_policy: "LEAST_REQUEST", lrs_server: ADS }) as never));
  const badCla = cla({ lb_endpoints: [endpoint("10.0.0.1", 0)] }, group([endpoint("10.0.0.1", 0)], { priority: 3 }));
  snapshot = replace(snapshot, ENDPOINT_TYPE, createResource(ENDPOINT_TYPE, "greeter", codec.encodeResource(ENDPOINT_TYPE, badCla as never)));
  // A Cluster filed among the ClusterLoadAssignments.
  snapshot = replace(snapshot, ENDPOINT_TYPE, base.resources[CLUSTER_TYPE].get("greeter") as Resource, "stray");
  const issues = validateSnapshot(codec, snapshot);
  assert.deepEqual(issues.map((issue) => `${issue.path}: ${issue.message.split(";")[0]}`), [
    "EDS/stray: holds a resource of type type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "CDS/greeter: lb_policy: LEAST_REQUEST is not supported by gRPC clients",
    "CDS/greeter: lrs_server: must be `self` when set",
    "EDS/greeter: endpoints[0].locality: is required",
    `EDS/greeter: endpoints[0].lb_endpoints[0].${SOCKET}.port_value: must be 1-65535, got 0`,
    `EDS/greeter: endpoints[1].lb_endpoints[0].${SOCKET}.port_value: must be 1-65535, got 0`,
    `EDS/greeter: endpoints[1].lb_endpoints[0].${SOCKET}: 10.0.0.1:0 duplicates endpoints[0].lb_endpoints[0]`,
    "EDS/greeter: endpoints[1].priority: is 3, but no locality group has priority 2",
  ]);
});

test("guard validate - an unknown enum number is reported, not thrown", () => {
  // Bytes from a newer proto: lb_policy = 99 (field 6, varint), which decodes as the number 99.
  const known = codec.encodeResource(CLUSTER_TYPE, cluster() as never);
  const body = new Uint8Array([...known, 0x30, 99]);
  const issues = validateSnapshot(codec, withBody(CLUSTER_TYPE, body));
  assert.deepEqual(issues, [{ path: "CDS/greeter: lb_policy", message: "99 is not supported by gRPC clients; allowed: ROUND_ROBIN, RING_HASH" }]);
});
