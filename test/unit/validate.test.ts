import assert from "node:assert/strict";
import { test } from "node:test";
import { ValidationError, formatIssues, type Issue } from "../../src/errors/index.js";
import { parseInstanceBody, parseServiceBody } from "../../src/registry/index.js";

const GOOD_INSTANCE = { address: "10.0.0.1", port: 8080 };

/** The issues a call throws; fails the test when it does not throw a ValidationError. */
function issuesOf(call: () => unknown): readonly Issue[] {
  try {
    call();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    assert.equal(err.message, formatIssues(err.issues));
    return err.issues;
  }
  assert.fail("expected a ValidationError, but the call succeeded");
}

function onlyIssue(call: () => unknown): Issue {
  const issues = issuesOf(call);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return issues[0]!;
}

const instanceIssue = (body: Record<string, unknown>) => onlyIssue(() => parseInstanceBody("svc", "i1", { ...GOOD_INSTANCE, ...body }));

test("validate - fills service defaults and keeps only model fields", () => {
  assert.deepEqual(parseServiceBody("login", {}), { name: "login", protocol: "grpc", lbPolicy: "round_robin", metadata: {}, mtls: "off" });
  assert.deepEqual(parseServiceBody("login", { protocol: "http", lbPolicy: "ring_hash", metadata: { team: "core" }, mtls: "strict" }), {
    name: "login",
    protocol: "http",
    lbPolicy: "ring_hash",
    metadata: { team: "core" },
    mtls: "strict",
  });
});

test("validate - fills instance defaults", () => {
  assert.deepEqual(parseInstanceBody("svc", "i1", { address: "::1", port: 1 }), {
    service: "svc", id: "i1", address: "::1", port: 1, zone: "", region: "", weight: 1, health: "healthy", metadata: {},
  });
});

test("validate - service names and instance ids must be DNS labels", () => {
  for (const good of ["a", "a-b", "0", "x".repeat(63)]) assert.equal(parseServiceBody(good, {}).name, good);
  for (const bad of ["", "-a", "a-", "A", "a_b", "a.b", "x".repeat(64)]) {
    assert.equal(onlyIssue(() => parseServiceBody(bad, {})).path, "service", bad);
    assert.equal(onlyIssue(() => parseInstanceBody("svc", bad, GOOD_INSTANCE)).path, "id", bad);
  }
  assert.deepEqual(onlyIssue(() => parseServiceBody("Bad_Name", {})), {
    path: "service",
    message: `must be a DNS label ([a-z0-9-], 1–63 characters, not starting or ending with '-'), got "Bad_Name"`,
  });
  assert.equal(onlyIssue(() => parseInstanceBody("Bad", "i1", GOOD_INSTANCE)).path, "service");
});

test("validate - the body must be a JSON object", () => {
  for (const body of [null, [], "x", 5, undefined]) {
    const issue = onlyIssue(() => parseServiceBody("svc", body));
    assert.equal(issue.path, "");
    assert.match(issue.message, /^body: must be a JSON object, got /);
    assert.equal(onlyIssue(() => parseInstanceBody("svc", "i1", body)).path, "");
  }
  assert.equal(onlyIssue(() => parseServiceBody("svc", [1])).message, "body: must be a JSON object, got [1]");
});

test("validate - unknown fields are rejected by name, listing the allowed ones", () => {
  assert.deepEqual(onlyIssue(() => parseServiceBody("svc", { protocl: "grpc" })), {
    path: "protocl",
    message: "unknown field; allowed fields are protocol, lbPolicy, metadata, healthCheck, mtls, intentions",
  });
  const issue = instanceIssue({ prot: 1 });
  assert.equal(issue.path, "prot");
  assert.match(issue.message, /allowed fields are address, port, zone, region, weight, health, metadata, ttlMs$/);
});

test("validate - protocol, lbPolicy and health must be one of their values", () => {
  assert.deepEqual(onlyIssue(() => parseServiceBody("svc", { protocol: "udp" })), { path: "protocol", message: `must be one of grpc, http, tcp, got "udp"` });
  assert.deepEqual(onlyIssue(() => parseServiceBody("svc", { lbPolicy: "random" })), { path: "lbPolicy", message: `must be one of round_robin, ring_hash, got "random"` });
  assert.deepEqual(instanceIssue({ health: "sick" }), { path: "health", message: `must be one of healthy, unhealthy, unknown, draining, got "sick"` });
  assert.equal(parseInstanceBody("svc", "i1", { ...GOOD_INSTANCE, health: "draining" }).health, "draining");
});

test("validate - address must be an IPv4 or IPv6 literal and is required", () => {
  assert.deepEqual(instanceIssue({ address: "foo" }), { path: "address", message: `must be an IPv4 or IPv6 address, got "foo"` });
  for (const bad of ["1.2.3.4.5", "example.com", "", 42]) assert.equal(instanceIssue({ address: bad }).path, "address");
  for (const good of ["127.0.0.1", "::1", "2001:db8::8a2e:370:7334"]) assert.equal(parseInstanceBody("svc", "i1", { port: 1, address: good }).address, good);
  assert.deepEqual(onlyIssue(() => parseInstanceBody("svc", "i1", { port: 80 })), { path: "address", message: "is required; must be an IPv4 or IPv6 address" });
});

const ALLOWED_ADDRESSES = "allowed: a unicast IPv4 or IPv6 address clients can connect to (not 0.0.0.0, ::, 255.255.255.255 or multicast; no %zone; IPv4 as a.b.c.d, not ::ffff:a.b.c.d)";

test("validate - address refuses what clients cannot connect to, each with why and what is allowed", () => {
  const cases: [string, string][] = [
    ["0.0.0.0", "is the unspecified address, which no client can connect to"],
    ["::", "is the unspecified address, which no client can connect to"],
    ["0:0:0:0:0:0:0:0", "is the unspecified address, which no client can connect to"],
    ["255.255.255.255", "is the broadcast address"],
    ["224.0.0.251", "is a multicast address"],
    ["ff02::1", "is a multicast address"],
    ["fe80::1%eth0", "has a zone (%eth0), which names a network interface of one host only"],
    ["fe80::1%1", "has a zone (%1), which names a network interface of one host only"],
    ["fe80::1%25eth0", "has a zone (%25eth0), which names a network interface of one host only"],
    ["::1%lo", "has a zone (%lo), which names a network interface of one host only"],
    ["::ffff:1.2.3.4", "is an IPv4-mapped IPv6 address; register 1.2.3.4 instead"],
    ["::FFFF:10.0.0.1", "is an IPv4-mapped IPv6 address; register 10.0.0.1 instead"],
    ["::ffff:102:304", "is an IPv4-mapped IPv6 address; register 1.2.3.4 instead"],
    ["0:0:0:0:0:ffff:c0a8:101", "is an IPv4-mapped IPv6 address; register 192.168.1.1 instead"],
  ];
  for (const [address, why] of cases) {
    assert.deepEqual(instanceIssue({ address }), { path: "address", message: `${JSON.stringify(address)} ${why}; ${ALLOWED_ADDRESSES}` }, address);
  }
  // Zones that isIP itself refuses are reported as not an address at all.
  for (const address of ["fe80::1%", "1.2.3.4%eth0"]) assert.equal(instanceIssue({ address }).message, `must be an IPv4 or IPv6 address, got ${JSON.stringify(address)}`);
  for (const good of ["fe80::1", "10.0.0.0", "255.255.255.254", "223.255.255.255", "::ffff", "2001:db8::ffff:1:2"]) {
    assert.equal(parseInstanceBody("svc", "i1", { port: 1, address: good }).address, good);
  }
});

test("validate - port must be an integer from 1 to 65535 and is required", () => {
  assert.deepEqual(instanceIssue({ port: 0 }), { path: "port", message: "must be an integer from 1 to 65535, got 0" });
  for (const bad of [65536, 1.5, "80", -1, null]) assert.equal(instanceIssue({ port: bad }).path, "port", String(bad));
  assert.equal(parseInstanceBody("svc", "i1", { ...GOOD_INSTANCE, port: 65535 }).port, 65535);
  assert.equal(onlyIssue(() => parseInstanceBody("svc", "i1", { address: "::1" })).path, "port");
});

test("validate - weight must be an integer from 1 to 10000", () => {
  assert.deepEqual(instanceIssue({ weight: 0 }), { path: "weight", message: "must be an integer from 1 to 10000, got 0" });
  for (const bad of [10001, 2.5, "3"]) assert.equal(instanceIssue({ weight: bad }).path, "weight");
  assert.equal(parseInstanceBody("svc", "i1", { ...GOOD_INSTANCE, weight: 10000 }).weight, 10000);
});

test("validate - zone and region are at most 63 characters of [A-Za-z0-9._-]", () => {
  assert.deepEqual(instanceIssue({ zone: "eu west" }), { path: "zone", message: `must be at most 63 characters of [A-Za-z0-9._-], got "eu west"` });
  for (const bad of ["x".repeat(64), "a/b", 7]) assert.equal(instanceIssue({ region: bad }).path, "region");
  const parsed = parseInstanceBody("svc", "i1", { ...GOOD_INSTANCE, zone: "eu-west-1.a_B", region: "x".repeat(63) });
  assert.equal(parsed.zone, "eu-west-1.a_B");
});

test("validate - metadata is an object of at most 64 string entries with 1–63 character keys", () => {
  assert.equal(instanceIssue({ metadata: ["a"] }).path, "metadata");
  assert.deepEqual(instanceIssue({ metadata: { team: 5 } }), { path: "metadata.team", message: "must be a string of at most 1024 characters, got 5" });
  assert.equal(instanceIssue({ metadata: { team: "x".repeat(1025) } }).path, "metadata.team");
  for (const key of ["", "k".repeat(64), "__proto__"]) {
    const issue = onlyIssue(() => parseServiceBody("svc", { metadata: JSON.parse(`{${JSON.stringify(key)}: "v"}`) }));
    assert.equal(issue.path, "metadata");
    assert.match(issue.message, /^key ".*" is not allowed; keys must be 1–63 characters/);
  }
  const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
  assert.deepEqual(onlyIssue(() => parseServiceBody("svc", { metadata: tooMany })), { path: "metadata", message: "must have at most 64 entries, got 65" });
  const enough = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, "v"]));
  assert.equal(Object.keys(parseServiceBody("svc", { metadata: enough }).metadata).length, 64);
});

test("validate - shows a long bad value cut to about 40 characters", () => {
  const issue = instanceIssue({ address: "y".repeat(500) });
  const shown = issue.message.slice(issue.message.indexOf("got ") + 4);
  assert.ok(shown.length <= 40, shown);
  assert.ok(shown.startsWith(`"yyyy`) && shown.endsWith(`…"`), shown);
});

test("validate - reports every problem at once, each with its path", () => {
  const issues = issuesOf(() => parseInstanceBody("svc", "i1", { address: "foo", port: 0, weight: 0 }));
  assert.deepEqual(issues.map((i) => i.path), ["address", "port", "weight"]);
  const all = issuesOf(() => parseInstanceBody("Bad", "-", { address: "foo", zone: "a b", extra: 1 }));
  assert.deepEqual(all.map((i) => i.path), ["service", "id", "address", "port", "zone", "extra"]);
});

const checkIssues = (healthCheck: unknown) => issuesOf(() => parseServiceBody("svc", { healthCheck }));

test("validate - healthCheck fills its defaults; path only for http, / by default", () => {
  assert.deepEqual(parseServiceBody("svc", { healthCheck: { kind: "grpc" } }).healthCheck, {
    kind: "grpc", intervalMs: 5000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3,
  });
  assert.equal(parseServiceBody("svc", { healthCheck: { kind: "http" } }).healthCheck?.path, "/");
  const http = { kind: "http", path: "/healthz?full=1", intervalMs: 1000, timeoutMs: 999, healthyThreshold: 1, unhealthyThreshold: 10 };
  assert.deepEqual(parseServiceBody("svc", { healthCheck: http }).healthCheck, http);
  assert.equal("healthCheck" in parseServiceBody("svc", {}), false);
});

test("validate - a bad healthCheck names every problem with its path and what is allowed", () => {
  const issues = checkIssues({ kind: "udp", intervalMs: 999, timeoutMs: "1s", healthyThreshold: 0, unhealthyThreshold: 11, every: 5 });
  assert.deepEqual(issues, [
    { path: "healthCheck.kind", message: `must be one of grpc, http, tcp, got "udp"` },
    { path: "healthCheck.intervalMs", message: "must be an integer from 1000 to 3600000, got 999" },
    { path: "healthCheck.timeoutMs", message: `must be an integer from 100 to 60000, got "1s"` },
    { path: "healthCheck.healthyThreshold", message: "must be an integer from 1 to 10, got 0" },
    { path: "healthCheck.unhealthyThreshold", message: "must be an integer from 1 to 10, got 11" },
    { path: "healthCheck.every", message: "unknown field; allowed fields are kind, path, intervalMs, timeoutMs, healthyThreshold, unhealthyThreshold" },
  ]);
  assert.deepEqual(checkIssues({}), [{ path: "healthCheck.kind", message: "is required; must be one of grpc, http, tcp" }]);
  assert.deepEqual(checkIssues("grpc"), [{ path: "healthCheck", message: `must be an object such as {"kind": "grpc"}, got "grpc"` }]);
  assert.deepEqual(checkIssues({ kind: "grpc", intervalMs: 3_600_001 }).map((i) => i.path), ["healthCheck.intervalMs"]);
});

test("validate - healthCheck timeout must be below the interval, and path belongs to http alone", () => {
  assert.deepEqual(checkIssues({ kind: "tcp", intervalMs: 1000, timeoutMs: 1000 }), [
    { path: "healthCheck.timeoutMs", message: "must be less than intervalMs (1000), got 1000" },
  ]);
  assert.deepEqual(checkIssues({ kind: "grpc", path: "/x" }), [{ path: "healthCheck.path", message: `is only for kind "http"; leave it out for kind "grpc"` }]);
  for (const path of ["healthz", "/a b", "", `/${"x".repeat(1024)}`]) {
    const [issue] = checkIssues({ kind: "http", path });
    assert.equal(issue?.path, "healthCheck.path", path);
    assert.match(issue!.message, /^must be an absolute path such as \/healthz/);
  }
});

test("validate - ttlMs is an integer from 1000 to 86400000 and absent by default", () => {
  assert.equal(parseInstanceBody("svc", "i1", { ...GOOD_INSTANCE, ttlMs: 1000 }).ttlMs, 1000);
  assert.equal(parseInstanceBody("svc", "i1", { ...GOOD_INSTANCE, ttlMs: 86_400_000 }).ttlMs, 86_400_000);
  assert.equal("ttlMs" in parseInstanceBody("svc", "i1", GOOD_INSTANCE), false);
  for (const ttlMs of [999, 86_400_001, 1500.5, "1500", null]) {
    assert.deepEqual(instanceIssue({ ttlMs }), { path: "ttlMs", message: `must be an integer from 1000 to 86400000 (milliseconds), got ${JSON.stringify(ttlMs)}` });
  }
});
