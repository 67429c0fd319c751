import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  LISTENER_TYPE,
  MessageShapeError,
  ProtoDecodeError,
  ROUTE_TYPE,
  ROUTER_TYPE_NAME,
  loadCodec,
  type Cluster,
  type ClusterLoadAssignment,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type HttpConnectionManager,
  type Listener,
  type RouteConfiguration,
} from "../../src/proto/index.js";

const codec = loadCodec();
const ADS = { ads: {}, resource_api_version: "V3" } as const;

const hcm: HttpConnectionManager = {
  stat_prefix: "login",
  rds: { config_source: ADS, route_config_name: "login" },
  http_filters: [{ name: "envoy.filters.http.router", typed_config: codec.packAny(ROUTER_TYPE_NAME, {}) }],
};
const listener: Listener = { name: "login", api_listener: { api_listener: codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, hcm) } };
const routeConfiguration: RouteConfiguration = {
  name: "login",
  virtual_hosts: [{ name: "login", domains: ["*"], routes: [{ match: { prefix: "" }, route: { cluster: "login" } }] }],
};
const cluster: Cluster = {
  name: "login",
  type: "EDS",
  eds_cluster_config: { eds_config: ADS, service_name: "login" },
  lb_policy: "RING_HASH",
  ring_hash_lb_config: { hash_function: "XX_HASH" },
  connect_timeout: { seconds: 5, nanos: 250_000_000 },
};
const loadAssignment: ClusterLoadAssignment = {
  cluster_name: "login",
  endpoints: [
    {
      locality: { region: "eu", zone: "eu-1", sub_zone: "rack-7" },
      load_balancing_weight: { value: 3 },
      priority: 1,
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 8080 } } }, health_status: "HEALTHY", load_balancing_weight: { value: 2 } },
        { endpoint: { address: { socket_address: { address: "::1", port_value: 8081 } } }, health_status: "DRAINING", load_balancing_weight: { value: 1 } },
      ],
    },
  ],
};

/** `actual` cut down to the keys `expected` has, recursively, so extra decoded defaults do not matter. */
function project(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual)) return actual.map((item, i) => project(item, expected[i]));
  if (expected instanceof Uint8Array || typeof expected !== "object" || expected === null) return actual;
  if (typeof actual !== "object" || actual === null) return actual;
  const record = actual as Record<string, unknown>;
  return Object.fromEntries(Object.keys(expected).map((key) => [key, project(record[key], (expected as Record<string, unknown>)[key])]));
}

function assertRoundTrip(decoded: unknown, input: unknown): void {
  assert.deepEqual(project(decoded, input), input);
}

/** The MessageShapeError `call` throws; fails the test when it throws anything else or nothing. */
function shapeError(call: () => unknown): MessageShapeError {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof MessageShapeError, `expected MessageShapeError, got ${String(error)}`);
    assert.equal(error.code, "internal");
    return error;
  }
  assert.fail("expected a MessageShapeError, but the call succeeded");
}

test("proto - each resource type round-trips, and re-encoding the decoded object gives the same bytes", () => {
  const cases = [
    [LISTENER_TYPE, listener],
    [ROUTE_TYPE, routeConfiguration],
    [CLUSTER_TYPE, cluster],
    [ENDPOINT_TYPE, loadAssignment],
  ] as const;
  for (const [typeUrl, message] of cases) {
    const bytes = codec.encodeResource(typeUrl, message as never);
    const decoded = codec.decodeResource(typeUrl, bytes);
    assertRoundTrip(decoded, message);
    assert.deepEqual(codec.encodeResource(typeUrl, decoded as never), bytes, typeUrl);
  }
});

test("proto - nested Anys unpack to what was packed, with the exact type URLs clients check", () => {
  const decoded = codec.decodeResource(LISTENER_TYPE, codec.encodeResource(LISTENER_TYPE, listener));
  const any = decoded.api_listener?.api_listener;
  assert.ok(any);
  assert.equal(any.type_url, "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
  const unpacked = codec.unpackAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, any);
  assertRoundTrip(unpacked, hcm);
  assert.equal(unpacked.http_filters[0]?.typed_config?.type_url, "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router");
  assert.throws(() => codec.unpackAny(ROUTER_TYPE_NAME, any), (error: unknown) => error instanceof ProtoDecodeError && /HttpConnectionManager/.test(error.message));
});

test("proto - SotW discovery messages round-trip, with node metadata as plain JSON", () => {
  const request: DiscoveryRequest = {
    version_info: "abc",
    node: {
      id: "web-1",
      cluster: "web",
      metadata: { team: "core", replicas: 3, canary: false, tags: ["a", 1, null], nested: { deep: { x: 1.5 } }, none: null },
      locality: { region: "eu", zone: "eu-1" },
      user_agent_name: "grpc-node-js",
      user_agent_version: "1.14.7",
    },
    resource_names: ["login", "search"],
    type_url: LISTENER_TYPE,
    response_nonce: "7",
    error_detail: { code: 3, message: "bad cluster" },
  };
  assertRoundTrip(codec.decodeDiscoveryRequest(codec.encodeDiscoveryRequest(request)), request);

  const response: DiscoveryResponse = {
    version_info: "v1",
    resources: [{ type_url: CLUSTER_TYPE, value: Buffer.from(codec.encodeResource(CLUSTER_TYPE, cluster)) }],
    type_url: CLUSTER_TYPE,
    nonce: "8",
    control_plane: { identifier: "steadymesh" },
  };
  const decoded = codec.decodeDiscoveryResponse(codec.encodeDiscoveryResponse(response));
  assertRoundTrip(decoded, response);
  assertRoundTrip(codec.decodeResource(CLUSTER_TYPE, decoded.resources[0]?.value ?? new Uint8Array()), cluster);
});

test("proto - Delta discovery messages round-trip", () => {
  const request: DeltaDiscoveryRequest = {
    node: { id: "web-1", cluster: "", user_agent_name: "envoy" },
    type_url: ENDPOINT_TYPE,
    resource_names_subscribe: ["login"],
    resource_names_unsubscribe: ["old"],
    resource_locators_subscribe: [{ name: "x", dynamic_parameters: { k: "v" } }],
    resource_locators_unsubscribe: [],
    initial_resource_versions: { login: "v1", search: "v2" },
    response_nonce: "3",
    error_detail: { code: 13, message: "oops" },
  };
  assertRoundTrip(codec.decodeDeltaDiscoveryRequest(codec.encodeDeltaDiscoveryRequest(request)), request);

  const response: DeltaDiscoveryResponse = {
    system_version_info: "sv",
    resources: [
      {
        name: "login",
        resource_name: { name: "login", dynamic_parameter_constraints: { constraint: { key: "k", value: "v" } } },
        aliases: ["alias"],
        version: "v1",
        resource: { type_url: ENDPOINT_TYPE, value: Buffer.from(codec.encodeResource(ENDPOINT_TYPE, loadAssignment)) },
        ttl: { seconds: 30, nanos: 0 },
        cache_control: { do_not_cache: true },
        metadata: { filter_metadata: { "envoy.lb": { canary: true } }, typed_filter_metadata: {} },
      },
    ],
    type_url: ENDPOINT_TYPE,
    removed_resources: ["gone"],
    removed_resource_names: [{ name: "gone" }],
    nonce: "4",
    control_plane: { identifier: "steadymesh" },
  };
  assertRoundTrip(codec.decodeDeltaDiscoveryResponse(codec.encodeDeltaDiscoveryResponse(response)), response);
});

test("proto - decoding fills defaults, leaves unset messages absent and uses numbers, strings and Buffers", () => {
  const empty = codec.decodeDiscoveryRequest(new Uint8Array());
  assert.deepEqual(empty.resource_names, []);
  assert.equal(empty.version_info, "");
  assert.equal(empty.response_nonce, "");
  assert.equal("node" in empty, false);
  assert.equal("error_detail" in empty, false);

  const decodedCluster = codec.decodeResource(CLUSTER_TYPE, codec.encodeResource(CLUSTER_TYPE, { ...cluster, lb_policy: "ROUND_ROBIN", ring_hash_lb_config: undefined }));
  assert.equal(decodedCluster.lb_policy, "ROUND_ROBIN");
  assert.equal(typeof decodedCluster.connect_timeout?.seconds, "number");
  assert.equal("ring_hash_lb_config" in decodedCluster, false);

  const decodedListener = codec.decodeResource(LISTENER_TYPE, codec.encodeResource(LISTENER_TYPE, listener));
  assert.ok(Buffer.isBuffer(decodedListener.api_listener?.api_listener?.value));
});

test("proto - unknown fields are rejected with their path, all at once", () => {
  const error = shapeError(() =>
    codec.encodeResource(CLUSTER_TYPE, { ...cluster, eds_cluster_config: { service_nmae: "login" }, lb_polcy: "RING_HASH" } as never),
  );
  assert.deepEqual(
    error.issues.map((issue) => issue.path),
    ["eds_cluster_config.service_nmae", "lb_polcy"],
  );
  assert.match(error.message, /envoy\.config\.cluster\.v3\.Cluster/);

  const requestError = shapeError(() =>
    codec.encodeDiscoveryRequest({ version_info: "", resource_names: [], type_url: "", response_nonce: "", node: { id: "n", clutser: "c" } } as never),
  );
  assert.deepEqual(requestError.issues.map((issue) => issue.path), ["node.clutser"]);
});

test("proto - unknown fields inside a nested Any are rejected with their path", () => {
  const inHcm = shapeError(() =>
    codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, { ...hcm, rds: { config_source: ADS, route_config_nmae: "login" } } as never),
  );
  assert.deepEqual(inHcm.issues.map((issue) => issue.path), ["rds.route_config_nmae"]);
  assert.match(inHcm.message, /HttpConnectionManager/);

  const inFilter = shapeError(() =>
    codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, { ...hcm, http_filters: [{ name: "router", typed_conifg: {} }] } as never),
  );
  assert.deepEqual(inFilter.issues.map((issue) => issue.path), ["http_filters[0].typed_conifg"]);

  const inRouter = shapeError(() => codec.packAny(ROUTER_TYPE_NAME, { dynamic_stat: true } as never));
  assert.deepEqual(inRouter.issues.map((issue) => issue.path), ["dynamic_stat"]);
});

test("proto - values protobufjs would silently drop or coerce are rejected", () => {
  const issues = shapeError(() =>
    codec.encodeResource(CLUSTER_TYPE, {
      name: 42,
      type: "EDSS",
      eds_cluster_config: { eds_config: { ads: {}, self: {}, resource_api_version: "V3" }, service_name: "x" },
      lb_policy: "ROUND_ROBIN",
      connect_timeout: { seconds: 1.5 },
    } as never),
  ).issues;
  const byPath = new Map(issues.map((issue) => [issue.path, issue.message]));
  assert.match(byPath.get("name") ?? "", /must be a string/);
  assert.match(byPath.get("type") ?? "", /must be one of .*EDS/);
  assert.match(byPath.get("eds_cluster_config.eds_config") ?? "", /ads and self/);
  assert.match(byPath.get("connect_timeout.seconds") ?? "", /integer/);
  assert.equal(issues.length, 4);

  const metadata = shapeError(() =>
    codec.encodeDiscoveryRequest({ version_info: "", resource_names: [], type_url: "", response_nonce: "", node: { id: "n", cluster: "", user_agent_name: "", metadata: { when: new Date(0) } } } as never),
  );
  assert.deepEqual(metadata.issues.map((issue) => issue.path), ["node.metadata.when"]);
});

test("proto - garbage bytes throw ProtoDecodeError, never anything else", () => {
  const garbage = [
    Buffer.from([0x0a, 0x10, 0x41]), // a string claiming 16 bytes with 1 left
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // endless varint
    new Uint8Array([0x0b]), // wire type 3 (start group) with nothing after it
    new Uint8Array([0x12, 0x05, 0x0a, 0x03]), // nested message cut short
  ];
  const decoders: Array<(bytes: Uint8Array) => unknown> = [
    (bytes) => codec.decodeResource(LISTENER_TYPE, bytes),
    (bytes) => codec.decodeResource(ENDPOINT_TYPE, bytes),
    (bytes) => codec.decodeDiscoveryRequest(bytes),
    (bytes) => codec.decodeDiscoveryResponse(bytes),
    (bytes) => codec.decodeDeltaDiscoveryRequest(bytes),
    (bytes) => codec.decodeDeltaDiscoveryResponse(bytes),
  ];
  for (const decode of decoders) {
    for (const bytes of garbage) {
      assert.throws(
        () => decode(bytes),
        (error: unknown) => error instanceof ProtoDecodeError && error.code === "invalid-argument" && error.cause !== undefined,
        `bytes ${Buffer.from(bytes).toString("hex")}`,
      );
    }
  }
  assert.throws(() => codec.decodeDiscoveryRequest("not bytes" as never), ProtoDecodeError);
  assert.throws(() => codec.decodeResource("type.googleapis.com/envoy.config.core.v3.Node" as never, new Uint8Array()), ProtoDecodeError);
});

test("proto - equal content gives equal bytes whatever the key order or explicit defaults", () => {
  const request = (metadata: Record<string, never>): DiscoveryRequest => ({
    version_info: "",
    node: { id: "n", cluster: "", user_agent_name: "", metadata },
    resource_names: [],
    type_url: LISTENER_TYPE,
    response_nonce: "",
  });
  const a = codec.encodeDiscoveryRequest(request(JSON.parse('{"b": 1, "a": {"y": 2, "x": [1, {"q": 1, "p": 2}]}}') as never));
  const b = codec.encodeDiscoveryRequest(request(JSON.parse('{"a": {"x": [1, {"p": 2, "q": 1}], "y": 2}, "b": 1}') as never));
  assert.deepEqual(a, b);

  const delta = (versions: Record<string, string>) =>
    codec.encodeDeltaDiscoveryRequest({
      type_url: ENDPOINT_TYPE,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      resource_locators_subscribe: [],
      resource_locators_unsubscribe: [],
      initial_resource_versions: versions,
      response_nonce: "",
    });
  assert.deepEqual(delta({ z: "1", a: "2" }), delta({ a: "2", z: "1" }));

  // Explicit proto3 defaults (0, "", first enum value) encode like absent fields.
  const withDefaults: ClusterLoadAssignment = {
    cluster_name: "login",
    endpoints: [{ locality: { region: "", zone: "", sub_zone: "" }, priority: 0, lb_endpoints: [{ health_status: "UNKNOWN" }] }],
  };
  const withoutDefaults = { cluster_name: "login", endpoints: [{ locality: {}, lb_endpoints: [{}] }] };
  assert.deepEqual(codec.encodeResource(ENDPOINT_TYPE, withDefaults), codec.encodeResource(ENDPOINT_TYPE, withoutDefaults as never));
  // ...but different content does not.
  assert.notDeepEqual(
    codec.encodeResource(ENDPOINT_TYPE, withDefaults),
    codec.encodeResource(ENDPOINT_TYPE, { ...withDefaults, endpoints: [{ ...withDefaults.endpoints[0]!, priority: 1 }] }),
  );
});

test("proto - an empty sub-message is kept, because its presence means something", () => {
  const decoded = codec.decodeResource(ENDPOINT_TYPE, codec.encodeResource(ENDPOINT_TYPE, { cluster_name: "x", endpoints: [{ locality: { region: "", zone: "" }, lb_endpoints: [] }] }));
  assert.deepEqual(decoded.endpoints[0]?.locality, { region: "", zone: "", sub_zone: "" });
  const decodedCluster = codec.decodeResource(CLUSTER_TYPE, codec.encodeResource(CLUSTER_TYPE, cluster));
  assert.deepEqual(decodedCluster.eds_cluster_config?.eds_config?.ads, {});
});

test("proto - a metadata key named __proto__ stays an ordinary key", () => {
  const metadata = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, never>;
  const request: DiscoveryRequest = { version_info: "", node: { id: "n", cluster: "", user_agent_name: "", metadata }, resource_names: [], type_url: "", response_nonce: "" };
  const decoded = codec.decodeDiscoveryRequest(codec.encodeDiscoveryRequest(request)).node?.metadata;
  assert.ok(decoded);
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  assert.deepEqual(Object.keys(decoded), ["__proto__", "a"]);
  assert.deepEqual(Object.getOwnPropertyDescriptor(decoded, "__proto__")?.value, { polluted: true });
});
