import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { silentClientLogger, type ClientLogger } from "../../src/client/logger.js";
import { RESOLVER_DEFAULTS, parseResolverOptions } from "../../src/client/options.js";
import { ValidationError, formatIssues, type Issue } from "../../src/errors/index.js";

const MINIMAL = { xdsServers: ["127.0.0.1:18000"], nodeId: "web-1" };

/** The issues a parse throws, as "path: message"; fails when it does not throw a ValidationError. */
function problems(input: unknown): string[] {
  try {
    parseResolverOptions(input);
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    assert.equal(err.message, formatIssues(err.issues));
    return err.issues.map((i: Issue) => (i.path ? `${i.path}: ${i.message}` : i.message));
  }
  assert.fail("expected a ValidationError, but the options were accepted");
}

test("client - options fill every default", () => {
  const options = parseResolverOptions(MINIMAL);
  assert.deepEqual({ ...options, logger: undefined, onEvent: undefined }, {
    xdsServers: ["127.0.0.1:18000"],
    nodeId: "web-1",
    nodeCluster: "",
    locality: { region: "", zone: "" },
    dns: { domain: "mesh" },
    startupTimeoutMs: 1000,
    streamTimeoutMs: 5000,
    backoff: { initialMs: 500, maxMs: 30_000 },
    dnsRefreshMs: 5000,
    strict: false,
    logger: undefined,
    onEvent: undefined,
  });
  assert.equal(options.logger, silentClientLogger);
  assert.equal(typeof options.onEvent, "function");
  assert.equal("cacheDir" in options, false);
  assert.equal(RESOLVER_DEFAULTS.startupTimeoutMs, options.startupTimeoutMs);
});

test("client - options keep every value given", () => {
  const logger: ClientLogger = { debug() {}, info() {}, warn() {}, error() {} };
  const onEvent = () => undefined;
  const options = parseResolverOptions({
    xdsServers: ["cp-a.internal:18000", "[::1]:18001", "10.0.0.9:443"],
    nodeId: "web-1",
    nodeCluster: "web",
    locality: { region: "eu-west1", zone: "eu-west1-b" },
    dns: { server: "[::1]:18053", domain: "mesh.internal" },
    cacheDir: "relative/cache",
    startupTimeoutMs: 0,
    streamTimeoutMs: 2000,
    backoff: { initialMs: 100, maxMs: 100 },
    dnsRefreshMs: 250,
    strict: true,
    logger,
    onEvent,
  });
  assert.deepEqual(options.xdsServers, ["cp-a.internal:18000", "[::1]:18001", "10.0.0.9:443"]);
  assert.deepEqual(options.locality, { region: "eu-west1", zone: "eu-west1-b" });
  assert.deepEqual(options.dns, { server: "[::1]:18053", domain: "mesh.internal" });
  assert.equal(options.cacheDir, resolve("relative/cache"), "cacheDir is made absolute once");
  assert.equal(options.startupTimeoutMs, 0);
  assert.equal(options.streamTimeoutMs, 2000);
  assert.deepEqual(options.backoff, { initialMs: 100, maxMs: 100 });
  assert.equal(options.dnsRefreshMs, 250);
  assert.equal(options.strict, true);
  assert.equal(options.logger, logger);
  assert.equal(options.onEvent, onEvent);
});

test("client - options dns false disables the fallback", () => {
  assert.equal(parseResolverOptions({ ...MINIMAL, dns: false }).dns, false);
  assert.deepEqual(parseResolverOptions({ ...MINIMAL, dns: {} }).dns, { domain: "mesh" });
});

test("client - options report a bad xDS server by index and show the value", () => {
  assert.deepEqual(problems({ ...MINIMAL, xdsServers: ["127.0.0.1:18000", "x"] }), [
    'xdsServers[1]: must be HOST:PORT with a port from 1 to 65535 (IPv6 as [::1]:18000), got "x"',
  ]);
});

test("client - options reject each malformed server address", () => {
  for (const bad of ["::1:18000", "[::1]", "host:0", "host:65536", "host:", ":80", "[10.0.0.1]:80", "a b:80", "-bad.:80"]) {
    const found = problems({ ...MINIMAL, xdsServers: [bad] });
    assert.equal(found.length, 1, bad);
    assert.match(found[0]!, /^xdsServers\[0\]: must be HOST:PORT/, bad);
  }
});

test("client - options require at least one distinct xDS server and a node id", () => {
  assert.deepEqual(problems({ xdsServers: [], nodeId: "" }), [
    "xdsServers: must list at least one xDS server",
    'nodeId: must be a non-empty string, got ""',
  ]);
  assert.deepEqual(problems({ ...MINIMAL, xdsServers: ["a:1", "b:2", "a:1"] }), ["xdsServers[2]: duplicates xdsServers[0]"]);
  assert.deepEqual(problems({ nodeId: "n" }), ["xdsServers: is required; must be an array of HOST:PORT strings"]);
});

test("client - options list every problem at once, each with its path", () => {
  const found = problems({
    xdsServers: ["127.0.0.1:18000", "x"],
    nodeId: "",
    locality: { zone: "a b" },
    dns: { server: "dns.local:53", domian: "mesh" },
    startupTimeoutMs: 70_000,
    streamTimeoutMs: 1.5,
    backoff: { initialMs: 5000, maxMs: 100 },
    dnsRefreshMs: -1,
    strict: "yes",
    logger: {},
    onEvent: 3,
    xdsServer: "typo",
  });
  assert.deepEqual(
    found.map((p) => p.slice(0, p.indexOf(":"))),
    [
      "xdsServers[1]",
      "nodeId",
      "locality.zone",
      "startupTimeoutMs",
      "streamTimeoutMs",
      "backoff.maxMs",
      "dnsRefreshMs",
      "strict",
      "logger",
      "onEvent",
      "xdsServer",
      "dns.server",
      "dns.domian",
    ],
  );
  assert.ok(found.includes("backoff.maxMs: must be at least backoff.initialMs (5000), got 100"), found.join("\n"));
  assert.ok(found.some((p) => p.startsWith("xdsServer: unknown option; allowed are xdsServers, nodeId")), found.join("\n"));
  assert.ok(found.includes('dns.server: must be IP:PORT with a port from 1 to 65535 (an address, not a name; IPv6 as [::1]:53), got "dns.local:53"'));
});

test("client - options reject a dns value that is neither false nor an object", () => {
  assert.deepEqual(problems({ ...MINIMAL, dns: true }), ["dns: must be false or an object { server?, domain? }, got true"]);
  assert.deepEqual(problems({ ...MINIMAL, dns: { domain: "Mesh." } }), ['dns.domain: must be a lowercase domain name such as "mesh", got "Mesh."']);
});

test("client - options check startupTimeoutMs bounds and a default backoff.maxMs below initialMs", () => {
  assert.equal(parseResolverOptions({ ...MINIMAL, startupTimeoutMs: 60_000 }).startupTimeoutMs, 60_000);
  assert.deepEqual(problems({ ...MINIMAL, startupTimeoutMs: -1 }), [
    "startupTimeoutMs: must be an integer number of milliseconds from 0 to 60000, got -1",
  ]);
  assert.deepEqual(problems({ ...MINIMAL, backoff: { initialMs: 60_000 } }), ["backoff.maxMs: must be at least backoff.initialMs (60000), got 30000"]);
});

test("client - options must be an object", () => {
  assert.deepEqual(problems(undefined), ["options are required"]);
  assert.deepEqual(problems("steady"), ["options must be an object"]);
});

test("client - options tls takes PEM strings or bytes, cert and key both or neither", () => {
  const options = parseResolverOptions({ ...MINIMAL, tls: { ca: "CA PEM", cert: new TextEncoder().encode("CERT"), key: "KEY" } });
  assert.deepEqual(options.tls, { ca: Buffer.from("CA PEM"), cert: Buffer.from("CERT"), key: Buffer.from("KEY") });
  assert.deepEqual(parseResolverOptions({ ...MINIMAL, tls: { ca: "CA" } }).tls, { ca: Buffer.from("CA") });
  assert.equal(parseResolverOptions(MINIMAL).tls, undefined);
  assert.deepEqual(problems({ ...MINIMAL, tls: { ca: "CA", cert: "C" } }), ["tls.key: must be given with tls.cert and tls.key both, or neither"]);
  assert.equal(problems({ ...MINIMAL, tls: { ca: "" } }).length, 1);
  assert.match(problems({ ...MINIMAL, tls: { ca: "CA", pem: "x" } })[0]!, /^tls\.pem: /);
  assert.match(problems({ ...MINIMAL, tls: {} })[0]!, /^tls\.ca: /);
});
