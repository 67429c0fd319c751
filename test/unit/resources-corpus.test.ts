import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeResource } from "../../src/client/xds-resources.js";
import { validateSnapshot } from "../../src/guard/validate.js";
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  RESOURCE_TYPES,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  loadCodec,
  shortTypeName,
  type ResourceTypeUrl,
} from "../../src/proto/index.js";
import { RESOURCE_KINDS, checkResource, type ResourceType } from "../../src/resources/index.js";
import { buildSnapshot, type Snapshot } from "../../src/snapshot/index.js";
import { entry, view } from "../helpers/registry-view.js";
import { withBody as snapshotWithBody, xdsMessages } from "../helpers/xds-messages.js";
import { stockError } from "../helpers/stock-xds-validators.js";

/**
 * One corpus of good and bad resources, judged by both sides that decide
 * what a stock gRPC client would NACK: the push guard (validateSnapshot) and
 * the steady: resolver (client/xds-resources.ts). Both must give the expected
 * verdict, with the same problems at the same field paths; where the stock
 * client (@grpc/grpc-js-xds) judges the case the same way, it is asked too.
 */

const codec = loadCodec();

/** A consistent snapshot with service `greeter`, whose resource of one type each case replaces. */
const base = (() => {
  const result = buildSnapshot(view(1, [entry("greeter", [{ id: "a" }])]), codec);
  assert.ok(result.ok);
  return result.snapshot;
})();

const withBody = (type: ResourceTypeUrl, body: Uint8Array): Snapshot => snapshotWithBody(base, type, body);

// ---- Building blocks, valid unless a case changes them --------------------

const { ADS, OTHER_ANY, router, listener, forward, vhost, routeConfig, cluster, endpoint: lbEndpoint, group, cla } = xdsMessages(codec);
const SELF = { self: {}, resource_api_version: "V3" };
const ROUND_ROBIN_ANY = { type_url: "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin", value: new Uint8Array() };
const policies = (...configs: object[]) => ({ policies: configs.map((typed_config, i) => ({ typed_extension_config: { name: `p${i}`, typed_config } })) });

// ---- The corpus -----------------------------------------------------------

interface Case {
  readonly name: string;
  readonly type: ResourceTypeUrl;
  /** The message to encode, or raw bytes. */
  readonly message: object | Uint8Array;
  /** The field path of the first problem ("" for the whole resource); absent when the resource is valid. */
  readonly rejectAt?: string;
  /** Set where steadymesh is stricter than grpc-js-xds (Envoy's rules, or what the guard cannot verify): why. */
  readonly stricterThanStock?: string;
}

const HCM = "api_listener.api_listener";

const CORPUS: readonly Case[] = [
  { name: "a listener with RDS over ADS", type: LISTENER_TYPE, message: listener() },
  { name: "a listener with RDS over self", type: LISTENER_TYPE, message: listener({ rds: { config_source: SELF, route_config_name: "greeter" } }) },
  { name: "a listener with an optional unknown filter before the router", type: LISTENER_TYPE,
    message: listener({ http_filters: [{ name: "opt", is_optional: true, typed_config: OTHER_ANY }, router()] }) },
  { name: "a listener with an inline route_config", type: LISTENER_TYPE, message: listener({ rds: undefined, route_config: routeConfig() }) },
  { name: "a listener without HTTP filters", type: LISTENER_TYPE, message: listener({ http_filters: [] }), rejectAt: `${HCM}.http_filters`,
    stricterThanStock: "Envoy requires the router filter" },
  { name: "a listener with the router before the end", type: LISTENER_TYPE,
    message: listener({ http_filters: [{ ...router(), name: "first" }, router()] }), rejectAt: `${HCM}.http_filters[0].typed_config` },
  { name: "a listener whose api_listener holds another type", type: LISTENER_TYPE,
    message: { name: "greeter", api_listener: { api_listener: codec.packAny(ROUTER_TYPE_NAME, {}) } }, rejectAt: `${HCM}.type_url` },
  { name: "a listener with RDS from a file", type: LISTENER_TYPE,
    message: listener({ rds: { config_source: { path_config_source: { path: "/etc/rds" }, resource_api_version: "V3" }, route_config_name: "greeter" } }),
    rejectAt: `${HCM}.rds.config_source` },
  { name: "a listener with listener filters", type: LISTENER_TYPE,
    message: listener({}, { listener_filters: [{ name: "envoy.filters.listener.tls_inspector" }] }), rejectAt: "listener_filters" },
  { name: "a listener with neither api_listener nor filter chains", type: LISTENER_TYPE, message: { name: "greeter" }, rejectAt: "" },
  { name: "a listener that is not protobuf", type: LISTENER_TYPE, message: new Uint8Array([0xff, 0xff, 0xff]), rejectAt: "" },

  { name: "a route to one cluster", type: ROUTE_TYPE, message: routeConfig() },
  { name: "a route by path to weighted clusters", type: ROUTE_TYPE,
    message: routeConfig([vhost({ routes: [{ match: { path: "/a.B/C" }, route: { weighted_clusters: { clusters: [{ name: "greeter", weight: { value: 3 } }] } } }] })]) },
  { name: "a route with a retry policy", type: ROUTE_TYPE, message: routeConfig([vhost({ routes: [forward({ retry_policy: { num_retries: { value: 2 } } })] })]) },
  { name: "a route configuration without virtual hosts", type: ROUTE_TYPE, message: routeConfig([]), rejectAt: "virtual_hosts",
    stricterThanStock: "a client would find no route for its target" },
  { name: "a virtual host without domains", type: ROUTE_TYPE, message: routeConfig([vhost({ domains: [] })]), rejectAt: "virtual_hosts[0].domains",
    stricterThanStock: "Envoy requires at least one domain" },
  { name: "a domain with a wildcard in the middle", type: ROUTE_TYPE, message: routeConfig([vhost({ domains: ["a*b"] })]), rejectAt: "virtual_hosts[0].domains[0]" },
  { name: "a redirect instead of a route action", type: ROUTE_TYPE,
    message: routeConfig([vhost({ routes: [{ match: { prefix: "" }, redirect: { host_redirect: "x" } }] })]), rejectAt: "virtual_hosts[0].routes[0].redirect" },
  { name: "a contains_match header matcher", type: ROUTE_TYPE,
    message: routeConfig([vhost({ routes: [{ ...forward(), match: { prefix: "", headers: [{ name: "x", contains_match: "y" }] } }] })]),
    rejectAt: "virtual_hosts[0].routes[0].match.headers[0].contains_match" },
  { name: "a retry policy with zero retries", type: ROUTE_TYPE,
    message: routeConfig([vhost({ routes: [forward({ retry_policy: { num_retries: { value: 0 } } })] })]),
    rejectAt: "virtual_hosts[0].routes[0].route.retry_policy.num_retries.value" },

  { name: "a round-robin cluster", type: CLUSTER_TYPE, message: cluster() },
  { name: "a ring-hash cluster with XX_HASH", type: CLUSTER_TYPE,
    message: cluster({ lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "XX_HASH", maximum_ring_size: { value: 4096 } } }) },
  { name: "a cluster with endpoints over self", type: CLUSTER_TYPE, message: cluster({ eds_cluster_config: { eds_config: SELF, service_name: "greeter" } }) },
  // gRPC A52: when load_balancing_policy is set, the client ignores lb_policy.
  { name: "lb_policy MAGLEV under a load_balancing_policy of RoundRobin", type: CLUSTER_TYPE,
    message: cluster({ lb_policy: "MAGLEV", load_balancing_policy: policies(OTHER_ANY, ROUND_ROBIN_ANY) }) },
  { name: "lb_policy ROUND_ROBIN under a load_balancing_policy with no known policy", type: CLUSTER_TYPE,
    message: cluster({ lb_policy: "ROUND_ROBIN", load_balancing_policy: policies(OTHER_ANY) }), rejectAt: "load_balancing_policy" },
  { name: "lb_policy MAGLEV", type: CLUSTER_TYPE, message: cluster({ lb_policy: "MAGLEV" }), rejectAt: "lb_policy" },
  { name: "a STATIC cluster", type: CLUSTER_TYPE, message: cluster({ type: "STATIC", eds_cluster_config: undefined }), rejectAt: "type" },
  { name: "an EDS cluster without a config source", type: CLUSTER_TYPE, message: cluster({ eds_cluster_config: { service_name: "greeter" } }),
    rejectAt: "eds_cluster_config.eds_config" },
  { name: "ring hash with MURMUR_HASH_2", type: CLUSTER_TYPE,
    message: cluster({ lb_policy: "RING_HASH", ring_hash_lb_config: { hash_function: "MURMUR_HASH_2" } }), rejectAt: "ring_hash_lb_config.hash_function" },
  { name: "an lrs_server that is not self", type: CLUSTER_TYPE, message: cluster({ lrs_server: ADS }), rejectAt: "lrs_server" },

  { name: "an assignment with one endpoint", type: ENDPOINT_TYPE, message: cla(group([lbEndpoint("10.0.0.1", 8080)])) },
  { name: "an assignment with IPv6 endpoints at two priorities", type: ENDPOINT_TYPE,
    message: cla(group([lbEndpoint("::1", 8080), lbEndpoint("10.0.0.1", 8081)]), group([lbEndpoint("10.0.0.2", 8080)], { priority: 1 })) },
  { name: "an assignment without endpoints", type: ENDPOINT_TYPE, message: cla() },
  { name: "a locality group without locality", type: ENDPOINT_TYPE, message: cla({ lb_endpoints: [lbEndpoint("10.0.0.1", 8080)] }),
    rejectAt: "endpoints[0].locality" },
  { name: "a host name instead of an IP", type: ENDPOINT_TYPE, message: cla(group([lbEndpoint("greeter.local", 8080)])),
    rejectAt: "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address" },
  { name: "port 0", type: ENDPOINT_TYPE, message: cla(group([lbEndpoint("10.0.0.1", 0)])),
    rejectAt: "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value", stricterThanStock: "Envoy requires a port of 1-65535" },
  { name: "one address:port twice", type: ENDPOINT_TYPE, message: cla(group([lbEndpoint("10.0.0.1", 8080), lbEndpoint("10.0.0.1", 8080)])),
    rejectAt: "endpoints[0].lb_endpoints[1].endpoint.address.socket_address" },
  { name: "a gap in priorities", type: ENDPOINT_TYPE,
    message: cla(group([lbEndpoint("10.0.0.1", 8080)]), group([lbEndpoint("10.0.0.2", 8080)], { priority: 2 })), rejectAt: "endpoints[1].priority" },
  { name: "an endpoint weight of 0", type: ENDPOINT_TYPE, message: cla(group([lbEndpoint("10.0.0.1", 8080, { load_balancing_weight: { value: 0 } })])),
    rejectAt: "endpoints[0].lb_endpoints[0].load_balancing_weight.value", stricterThanStock: "Envoy requires weights of at least 1" },
];

// ---- The two verdicts ------------------------------------------------------

/** The guard's problems with the resource, as `<field path>: <message>` (or the bare message for the whole resource). */
function guardVerdict(type: ResourceTypeUrl, body: Uint8Array): string[] {
  const resource = `${shortTypeName(type)}/greeter`;
  return validateSnapshot(codec, withBody(type, body)).map((issue) => {
    assert.ok(issue.path === resource || issue.path.startsWith(`${resource}: `), `the guard found a problem elsewhere: ${issue.path}`);
    return issue.path === resource ? issue.message : `${issue.path.slice(resource.length + 2)}: ${issue.message}`;
  });
}

/** The resolver's errors with the resource, [] when it accepts it. */
function clientVerdict(type: ResourceTypeUrl, body: Uint8Array): string[] {
  const decoded = decodeResource(codec, type, body);
  if (decoded.ok) {
    assert.equal(decoded.model.name, "greeter");
    return [];
  }
  assert.ok(decoded.errors.length > 0, "a rejection says why");
  return decoded.errors;
}

function pathOf(problem: string, decodeFailure: boolean): string {
  if (decodeFailure) return "";
  const colon = problem.indexOf(": ");
  return colon < 0 ? "" : problem.slice(0, colon);
}

test("resources corpus - covers every type with good and bad resources", () => {
  assert.ok(CORPUS.length >= 25);
  for (const type of RESOURCE_TYPES) {
    const ofType = CORPUS.filter((c) => c.type === type);
    assert.ok(ofType.some((c) => c.rejectAt === undefined), `a valid ${shortTypeName(type)} case`);
    assert.ok(ofType.some((c) => c.rejectAt !== undefined), `an invalid ${shortTypeName(type)} case`);
  }
});

for (const c of CORPUS) {
  const verdict = c.rejectAt === undefined ? "accept" : "reject";
  test(`resources corpus - the guard and the resolver both ${verdict} ${c.name}`, async () => {
    const body = c.message instanceof Uint8Array ? c.message : codec.encodeResource(c.type, c.message as never);
    const guard = guardVerdict(c.type, body);
    const client = clientVerdict(c.type, body);
    assert.deepEqual(client, guard, "the resolver and the guard find the same problems");
    const checked = checkResource(codec, c.type, body);
    const decodeFailure = !checked.ok && checked.name === undefined;
    if (c.rejectAt === undefined) {
      assert.deepEqual(guard, [], "the resource is valid");
      assert.ok(checked.ok);
      const kind = RESOURCE_KINDS[c.type] as ResourceType<ResourceTypeUrl>;
      assert.equal(kind.equal(checked.decoded, kind.decode(codec, new Uint8Array(body))), true, "equal to its own copy");
    } else {
      assert.ok(guard.length > 0, "the resource is rejected");
      assert.equal(pathOf(guard[0]!, decodeFailure), c.rejectAt, guard.join(" | "));
    }
    const verdict = await stockError(c.type, body);
    const stockRejects = verdict !== undefined;
    if (c.stricterThanStock) assert.equal(stockRejects, false, `grpc-js-xds accepts it (${c.stricterThanStock}): ${verdict ?? ""}`);
    else assert.equal(stockRejects, c.rejectAt !== undefined, `grpc-js-xds agrees: ${verdict ?? "accepted"}`);
  });
}

test("resources corpus - equal tells configurations apart, and sees through field order", () => {
  const clusters = RESOURCE_KINDS[CLUSTER_TYPE];
  const roundRobin = clusters.decode(codec, codec.encodeResource(CLUSTER_TYPE, cluster() as never));
  const ringHash = clusters.decode(codec, codec.encodeResource(CLUSTER_TYPE, cluster({ lb_policy: "RING_HASH" }) as never));
  assert.equal(clusters.equal(roundRobin, ringHash), false);
  // The same Cluster with its fields in reverse order: other bytes, the same message.
  const reversed = reverseFields(roundRobin.body);
  assert.notDeepEqual(reversed, roundRobin.body);
  assert.equal(clusters.equal(roundRobin, clusters.decode(codec, reversed)), true);
});

test("resources corpus - a resource is decoded once per codec and bytes", () => {
  let decodes = 0;
  const counting = { ...codec, decodeResource: ((typeUrl, bytes) => (decodes++, codec.decodeResource(typeUrl, bytes))) as typeof codec.decodeResource };
  const body = codec.encodeResource(ENDPOINT_TYPE, cla(group([lbEndpoint("10.0.0.1", 8080)])) as never);
  const first = RESOURCE_KINDS[ENDPOINT_TYPE].decode(counting, body);
  assert.equal(RESOURCE_KINDS[ENDPOINT_TYPE].decode(counting, body), first);
  assert.equal(checkResource(counting, ENDPOINT_TYPE, body).ok, true);
  assert.equal(decodes, 1);
  RESOURCE_KINDS[ENDPOINT_TYPE].decode(counting, new Uint8Array(body));
  assert.equal(decodes, 2, "other bytes are decoded afresh");
});

/** The top-level fields of a protobuf encoding in reverse order (every field here is length-delimited or a varint). */
function reverseFields(bytes: Uint8Array): Uint8Array {
  const fields: Uint8Array[] = [];
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const start = at;
    const wireType = varint() & 7;
    if (wireType === 2) {
      const length = varint(); // read before `at` is: `at += varint()` would add to its old value
      at += length;
    } else if (wireType === 0) varint();
    else throw new Error(`wire type ${wireType} not expected here`);
    fields.push(bytes.slice(start, at));
  }
  return Buffer.concat(fields.reverse());
}
