import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { createAdminServer, type AdminServer } from "../../src/admin/index.js";
import { main, type CliIo, type SignalSource, type StopSignal } from "../../src/cli/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createMemoryStore, createRegistry, type Registry } from "../../src/registry/index.js";
import { SERVE_DEFAULTS, type RunningServer, type ServeOptions } from "../../src/server/options.js";
import type { ClientStatus } from "../../src/xds/index.js";
import { capture } from "../helpers/io.js";
import { createFakeGenerations, createFakePushGuard } from "./generation-fixtures.js";

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(args: readonly string[], extra: Partial<CliIo> = {}): Promise<RunResult> {
  const stdout = capture();
  const stderr = capture();
  const code = await main(["node", "steadymesh", ...args], { stdout: stdout.stream, stderr: stderr.stream, ...extra });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Asserts the failure contract: non-zero, nothing on stdout, exactly one `steadymesh: error:` line on stderr. */
function assertOneLineError(result: RunResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^steadymesh: error: [^\n]+\n$/, result.stderr);
  assert.match(result.stderr.slice("steadymesh: error: ".length, -1), pattern);
}

const NACKING_CLIENT: ClientStatus = {
  streamId: "s1",
  nodeId: "web-1",
  cluster: "web",
  metadata: {},
  userAgent: "grpc-node-js 1.14.7",
  peer: "127.0.0.1:40000",
  connectedAt: "2024-01-01T00:00:00.000Z",
  protocol: "sotw",
  types: {
    EDS: {
      typeUrl: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
      subscribed: ["greeter"],
      sentVersion: "3",
      sentNonce: "7",
      ackedVersion: "2",
      ackedGeneration: 4,
      lastNack: { at: "2024-01-01T00:00:02.000Z", nonce: "7", version: "2", generation: 5, errorDetail: { code: 3, message: "endpoints[0].port:\nmust be 1-65535" } },
    },
    LDS: { typeUrl: "type.googleapis.com/envoy.config.listener.v3.Listener", subscribed: ["greeter"], sentVersion: "3", sentNonce: "4", ackedVersion: "3" },
  },
};

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

describe("cli against a live admin API", () => {
  let registry: Registry;
  let admin: AdminServer;
  let url: string;
  let clients: ClientStatus[] = [];

  before(async () => {
    registry = await createRegistry(createMemoryStore());
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => clients }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
    const address = await admin.listen("127.0.0.1", 0);
    url = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await admin.close();
    await registry.close();
  });

  it("cli - list on an empty registry says so", async () => {
    const result = await run(["list", "--admin", url]);
    assert.deepEqual(result, { code: 0, stdout: "no services registered (revision 0)\n", stderr: "" });
  });

  it("cli - register derives the id from address and port and prints what was stored", async () => {
    const result = await run(["register", "greeter", "--address", "127.0.0.1", "--port", "50051", "--admin", url]);
    const revision = registry.view().revision;
    assert.deepEqual(result, { code: 0, stdout: `registered greeter/127-0-0-1-50051 at 127.0.0.1:50051 (revision ${revision})\n`, stderr: "" });
    const instance = registry.view().services.get("greeter")?.instances.get("127-0-0-1-50051");
    assert.equal(instance?.port, 50051);
  });

  it("cli - register passes --id, --zone, --region and --weight; IPv6 addresses print in brackets", async () => {
    const result = await run(["register", "greeter", "--address", "::1", "--port", "50052", "--id", "b2", "--zone", "z1", "--region", "r1", "--weight", "7", "--admin", url]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `registered greeter/b2 at [::1]:50052 (revision ${registry.view().revision})\n`);
    const instance = registry.view().services.get("greeter")?.instances.get("b2");
    assert.deepEqual([instance?.zone, instance?.region, instance?.weight], ["z1", "r1", 7]);
    const derived = await run(["register", "greeter", "--address", "fe80::1", "--port", "9", "--admin", url]);
    assert.match(derived.stdout, /^registered greeter\/fe80--1-9 at \[fe80::1\]:9 /);
  });

  it("cli - list prints one row per instance; --json prints the admin API's answer", async () => {
    const table = await run(["list", "--admin", url]);
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(table.stdout.split("\n"), [
      "SERVICE  ID               ADDRESS          ZONE/REGION  WEIGHT  HEALTH",
      "greeter  127-0-0-1-50051  127.0.0.1:50051  -            1       healthy",
      "greeter  b2               [::1]:50052      z1/r1        7       healthy",
      "greeter  fe80--1-9        [fe80::1]:9      -            1       healthy",
      "",
    ]);
    const json = await run(["list", "greeter", "--json", "--admin", url]);
    const answer = (await admin.inject("/v1/services/greeter")).json();
    assert.deepEqual(JSON.parse(json.stdout), answer);
  });

  it("cli - server-side rejections come back as the server's one-line error, and nothing is written", async () => {
    const revision = registry.view().revision;
    assertOneLineError(await run(["register", "Bad_Name", "--address", "127.0.0.1", "--port", "1", "--admin", url]), /^service: must be a DNS label .*got "Bad_Name"$/);
    assertOneLineError(await run(["register", "greeter", "--address", "127.0.0.1", "--port", "1", "--id", "-x", "--admin", url]), /^--id: must be a DNS label/);
    assertOneLineError(await run(["register", "greeter", "--address", "127.0.0.1", "--port", "1", "--zone", "a b", "--admin", url]), /^--zone: must be at most 63 characters/);
    assertOneLineError(await run(["list", "nope", "--admin", url]), /^service "nope" not found; 'steadymesh list' shows the registered services$/);
    assert.equal(registry.view().revision, revision);
  });

  it("cli - intention allow|deny|delete write the destination's intentions server-side; list shows them; bad names are one-line errors", async () => {
    const denied = await run(["intention", "deny", "web", "orders", "--admin", url]);
    assert.deepEqual(denied, { code: 0, stdout: `intention web -> orders: deny (revision ${registry.view().revision})\n`, stderr: "" });
    assert.equal((await run(["intention", "allow", "*", "orders", "--admin", url])).code, 0);
    assert.deepEqual(registry.view().services.get("orders")?.service.intentions, { "*": "allow", web: "deny" });
    const listed = await run(["intention", "list", "orders", "--admin", url]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^orders: mtls off, default allow\nSOURCE +ACTION\nweb +deny\n$/);
    assert.equal((await run(["intention", "delete", "web", "orders", "--admin", url])).code, 0);
    assert.deepEqual(registry.view().services.get("orders")?.service.intentions, { "*": "allow" });
    assertOneLineError(await run(["intention", "delete", "web", "orders", "--admin", url]), /^no intention from "web" to "orders"$/);
    assertOneLineError(await run(["intention", "deny", "Web!", "orders", "--admin", url]), /^command-argument value 'Web!' is invalid for argument 'source'\. It must be a service name .* or '\*'/);
    assertOneLineError(await run(["intention", "permit", "web", "orders", "--admin", url]), /unknown command 'permit'/);
  });

  it("cli - deregister removes one instance and reports a missing one", async () => {
    const result = await run(["deregister", "greeter", "b2", "--admin", url]);
    assert.deepEqual(result, { code: 0, stdout: `deregistered greeter/b2 (revision ${registry.view().revision})\n`, stderr: "" });
    assert.equal(registry.view().services.get("greeter")?.instances.has("b2"), false);
    assertOneLineError(await run(["deregister", "greeter", "b2", "--admin", url]), /^instance "b2" not found in service "greeter"; 'steadymesh list greeter' shows its instances$/);
  });

  it("cli - status shows each client's types with ACKed versions and generations and the last NACK's error", async () => {
    clients = [];
    assert.deepEqual(await run(["status", "--admin", url]), { code: 0, stdout: "no xDS clients connected\n", stderr: "" });
    clients = [NACKING_CLIENT];
    const table = await run(["status", "--admin", url]);
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(table.stdout.split("\n"), [
      "NODE   STREAM  TYPE  SUBSCRIBED  SENT  ACKED  ACKED GEN  LAST NACK",
      "web-1  s1      LDS   greeter     3     3      -          -",
      "web-1  s1      EDS   greeter     3     2      4          at 2024-01-01T00:00:02.000Z (generation 5; kept version 2): INVALID_ARGUMENT: endpoints[0].port: must be 1-65535",
      "",
    ]);
    const json = await run(["status", "--json", "--admin", url]);
    assert.deepEqual(JSON.parse(json.stdout), { clients: [NACKING_CLIENT], failingServices: [] });
  });

  it("cli - status lists the first subscribed names per type and flags names the served snapshot lacks, with their types", async () => {
    const lds = NACKING_CLIENT.types.LDS!;
    const cds = { ...lds, typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster" };
    clients = [
      {
        ...NACKING_CLIENT,
        types: {
          LDS: { ...lds, subscribed: ["a", "b", "greeter", "gretter", "x"], subscribedCount: 5, unknown: ["gretter", "x"], unknownCount: 2 },
          CDS: { ...cds, subscribed: ["gretter"], subscribedCount: 1, unknown: ["gretter"], unknownCount: 1 },
        },
      },
      { ...NACKING_CLIENT, streamId: "s2", nodeId: "web-2", types: { LDS: lds } },
    ];
    const table = await run(["status", "--admin", url]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.split("\n");
    assert.match(lines[1]!, /^web-1 +s1 +LDS +a, b, greeter \+2 more +3 +3 /);
    assert.match(lines[2]!, /^web-1 +s1 +CDS +gretter +3 +3 /);
    assert.deepEqual(lines.slice(4), ["clients asking for resource names that do not exist (a typo, or a service since removed):", "  web-1 (s1) unknown: gretter (LDS, CDS), x (LDS)", ""]);
    clients = [NACKING_CLIENT];
    assert.doesNotMatch((await run(["status", "--admin", url])).stdout, /unknown/);
  });

  it("cli - status pages through GET /v1/clients and shows every client", async () => {
    clients = Array.from({ length: 1500 }, (_, i) => ({ ...NACKING_CLIENT, streamId: `s${i + 1}`, nodeId: `web-${i + 1}` }));
    const json = await run(["status", "--json", "--admin", url]);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout).clients as ClientStatus[];
    assert.equal(shown.length, 1500);
    assert.deepEqual([shown[0]?.streamId, shown[999]?.streamId, shown[1000]?.streamId, shown[1499]?.streamId], ["s1", "s1000", "s1001", "s1500"]);
    const table = await run(["status", "--admin", url]);
    assert.equal(table.stdout.split("\n").filter((line) => line.startsWith("web-")).length, 3000, "two types per client");
    clients = [];
  });

  it("cli - an unreachable admin API is one line naming the URL, the reason and the command to start one", async () => {
    const port = await closedPort();
    const result = await run(["list", "--admin", `http://127.0.0.1:${port}/`]);
    assertOneLineError(result, new RegExp(`^cannot reach the admin API at http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; is 'steadymesh serve' running there\\? \\(--admin URL names another server\\)$`));
  });
});

describe("cli without a server", () => {
  it("cli - bootstrap prints a gRPC xDS bootstrap for the default server", async () => {
    const result = await run(["bootstrap", "--node-id", "web-1"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      xds_servers: [{ server_uri: "127.0.0.1:18000", channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: "web-1", locality: {} },
      server_listener_resource_name_template: "grpc/server?xds.resource.listening_address=%s",
    });
  });

  it("cli - bootstrap --certs adds the file_watcher provider that mTLS resources name", async () => {
    const result = await run(["bootstrap", "--node-id", "web-1", "--certs", "/etc/mesh/web"]);
    assert.equal(result.code, 0, result.stderr);
    const bootstrap = JSON.parse(result.stdout);
    assert.deepEqual(bootstrap.node.metadata, { "steadymesh.certificate_provider": "steadymesh" }, "so that the guard sees the node can do mTLS");
    assert.deepEqual(bootstrap.certificate_providers, {
      steadymesh: {
        plugin_name: "file_watcher",
        config: {
          certificate_file: "/etc/mesh/web/certificate.pem",
          private_key_file: "/etc/mesh/web/private_key.pem",
          ca_certificate_file: "/etc/mesh/web/ca.pem",
          refresh_interval: "10s",
        },
      },
    });
  });

  it("cli - bootstrap takes several --xds servers, ignore_resource_deletion and a locality", async () => {
    const result = await run(["bootstrap", "--node-id", "web-1", "--xds", "10.0.0.1:18000", "--xds", "[::1]:18001", "--ignore-resource-deletion", "--zone", "z1", "--region", "r1"]);
    assert.equal(result.code, 0, result.stderr);
    const features = ["xds_v3", "ignore_resource_deletion"];
    assert.deepEqual(JSON.parse(result.stdout), {
      xds_servers: [
        { server_uri: "10.0.0.1:18000", channel_creds: [{ type: "insecure" }], server_features: features },
        { server_uri: "[::1]:18001", channel_creds: [{ type: "insecure" }], server_features: features },
      ],
      node: { id: "web-1", locality: { region: "r1", zone: "z1" } },
      server_listener_resource_name_template: "grpc/server?xds.resource.listening_address=%s",
    });
  });

  for (const command of [[], ["serve"], ["register"], ["deregister"], ["list"], ["status"], ["generations"], ["approve"], ["rollback"], ["bootstrap"]]) {
    it(`cli - ${["steadymesh", ...command].join(" ")} --help prints usage and exits 0`, async () => {
      const result = await run([...command, "--help"]);
      assert.equal(result.code, 0);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, new RegExp(`^Usage: ${["steadymesh", ...command].join(" ")} `));
    });
  }

  it("cli - serve --help describes the DNS flags as served", async () => {
    const result = await run(["serve", "--help"]);
    assert.match(result.stdout, /--dns-port <port> +DNS port \(UDP and TCP\), 0-65535/);
    assert.match(result.stdout, /--dns-domain <domain> +DNS domain/);
    assert.match(result.stdout, /--dns-ttl <seconds> +TTL of DNS answers, 0-86400 \(default: 5\)/);
    assert.doesNotMatch(result.stdout, /reserved for the DNS interface|not served yet/);
  });

  it("cli - serve --help describes --lab-reports with its default", async () => {
    const result = await run(["serve", "--help"]);
    assert.match(result.stdout, /--lab-reports <dir> +the outage lab's report directory the\s+web console lists/);
    assert.match(result.stdout, /\(default: "\.\/lab-reports"\)/);
  });

  const badInput: { args: string[]; error: RegExp }[] = [
    { args: [], error: /^missing command; use one of serve, register, deregister, heartbeat, list, status, generations, approve, rollback, bootstrap/ },
    { args: ["frobnicate"], error: /^unknown command 'frobnicate' \(see 'steadymesh --help'\)$/ },
    { args: ["lst"], error: /^unknown command 'lst' \(Did you mean list\?\) \(see 'steadymesh --help'\)$/ },
    { args: ["register", "greeter", "--port", "1"], error: /^required option '--address <ip>' not specified \(see 'steadymesh register --help'\)$/ },
    { args: ["register", "--address", "127.0.0.1", "--port", "1"], error: /^missing required argument 'service'/ },
    { args: ["register", "greeter", "--address", "localhost", "--port", "1"], error: /argument 'localhost' is invalid\. It must be an IPv4 or IPv6 address/ },
    { args: ["register", "greeter", "--address", "127.0.0.1", "--port", "65536"], error: /^option '--port <port>' argument '65536' is invalid\. It must be an integer from 1 to 65535 \(see 'steadymesh register --help'\)$/ },
    { args: ["register", "greeter", "--address", "127.0.0.1", "--port", "12ab"], error: /argument '12ab' is invalid\. It must be an integer from 1 to 65535/ },
    { args: ["register", "greeter", "--address", "127.0.0.1", "--port", "1", "--weight", "0"], error: /argument '0' is invalid\. It must be an integer from 1 to 10000/ },
    { args: ["register", "greeter", "--address", "127.0.0.1", "--port", "1", "--colour", "red"], error: /^unknown option '--colour'/ },
    { args: ["deregister", "greeter"], error: /^missing required argument 'id' \(see 'steadymesh deregister --help'\)$/ },
    { args: ["deregister", "a", "b", "c"], error: /^too many arguments for 'deregister'\. Expected 2 arguments but got 3/ },
    { args: ["list", "--admin", "ftp://x"], error: /argument 'ftp:\/\/x' is invalid\. It must be an http:\/\/ or https:\/\/ URL/ },
    { args: ["list", "--admin"], error: /^option '--admin <url>' argument missing/ },
    { args: ["status", "extra"], error: /^too many arguments for 'status'/ },
    { args: ["bootstrap"], error: /^required option '--node-id <id>' not specified/ },
    { args: ["bootstrap", "--node-id", "x", "--xds", "host"], error: /argument 'host' is invalid\. It must be HOST:PORT with a port from 1 to 65535/ },
    { args: ["bootstrap", "--node-id", "x", "--xds", "h:0"], error: /argument 'h:0' is invalid/ },
    { args: ["serve", "--xds-port", "-1"], error: /^option '--xds-port <port>' argument '-1' is invalid\. It must be an integer from 0 to 65535/ },
    { args: ["serve", "--admin-port", "70000"], error: /argument '70000' is invalid\. It must be an integer from 0 to 65535/ },
    { args: ["serve", "--dns-port", "x"], error: /argument 'x' is invalid\. It must be an integer from 0 to 65535/ },
    { args: ["serve", "--bind", "localhost"], error: /argument 'localhost' is invalid\. It must be an IPv4 or IPv6 address/ },
    { args: ["serve", "--admin-host", "mesh.example:18080"], error: /^option '--admin-host <name>' argument 'mesh\.example:18080' is invalid\. It must be a host name or an IP address without a port, e\.g\. steadymesh\.internal or 10\.0\.0\.5 \(see 'steadymesh serve --help'\)$/ },
    { args: ["serve", "--admin-host", "http://mesh.example"], error: /argument 'http:\/\/mesh\.example' is invalid\. It must be a host name or an IP address without a port/ },
    { args: ["serve", "--admin-host", "0.0.0.0"], error: /argument '0\.0\.0\.0' is invalid\. It must be an address of this machine, not a wildcard or an address with a %zone \(see/ },
    { args: ["serve", "--admin-host", "fe80::1%eth0"], error: /argument 'fe80::1%eth0' is invalid\. It must be an address of this machine, not a wildcard/ },
    { args: ["serve", "--store", "postgres"], error: /argument 'postgres' is invalid\. It must be sqlite, memory or etcd:\/\/HOST:PORT/ },
    { args: ["serve", "--store", "etcd://"], error: /argument 'etcd:\/\/' is invalid/ },
    { args: ["serve", "--dns-domain", "Bad_Domain"], error: /argument 'Bad_Domain' is invalid\. It must be a DNS name/ },
    { args: ["serve", "--coalesce-ms", "10"], error: /^unknown option '--coalesce-ms'/ },
    { args: ["serve", "--push-min-delay-ms", "1.5"], error: /^option '--push-min-delay-ms <ms>' argument '1\.5' is invalid\. It must be an integer from 0 to 60000/ },
    { args: ["serve", "--push-max-delay-ms", "0"], error: /^option '--push-max-delay-ms <ms>' argument '0' is invalid\. It must be an integer from 1 to 600000/ },
    { args: ["serve", "--push-min-delay-ms", "500", "--push-max-delay-ms", "200"], error: /^--push-max-delay-ms \(200\) must be at least --push-min-delay-ms \(500\)$/ },
    { args: ["serve", "--guard-max-resource-removal", "1.5"], error: /^option '--guard-max-resource-removal <share>' argument '1\.5' is invalid\. It must be a number from 0 to 1, e\.g\. 0\.5 \(see 'steadymesh serve --help'\)$/ },
    { args: ["serve", "--guard-max-endpoint-removal", "50%"], error: /^option '--guard-max-endpoint-removal <share>' argument '50%' is invalid\. It must be a number from 0 to 1/ },
    { args: ["serve", "--guard-drain-step", "0"], error: /^option '--guard-drain-step <share>' argument '0' is invalid\. It must be a number greater than 0 and at most 1/ },
    { args: ["serve", "--guard-drain-interval-ms", "999"], error: /^option '--guard-drain-interval-ms <ms>' argument '999' is invalid\. It must be an integer from 1000 to 86400000/ },
    { args: ["serve", "--canary", "zone=z1"], error: /^option '--canary <selector>' argument 'zone=z1' is invalid\. It must be node-id=GLOB \(e\.g\. node-id=canary-\*\) or metadata\.KEY=VALUE/ },
    { args: ["serve", "--canary", "node-id=web 1"], error: /argument 'node-id=web 1' is invalid\. The GLOB of node-id=GLOB must be 1-128 characters of A-Z a-z 0-9 \. _ : - and the wildcards \* and \?/ },
    { args: ["serve", "--canary", "node-id="], error: /argument 'node-id=' is invalid\. The GLOB of node-id=GLOB must be 1-128 characters/ },
    { args: ["serve", "--canary", "metadata.canary"], error: /argument 'metadata\.canary' is invalid\. It must be metadata\.KEY=VALUE with KEY 1-64 characters/ },
    { args: ["serve", "--canary", `metadata.${"k".repeat(65)}=1`], error: /It must be metadata\.KEY=VALUE with KEY 1-64 characters of A-Z a-z 0-9 _ \. - and VALUE 1-128 printable ASCII characters/ },
    { args: ["serve", "--canary-bake-ms", "3600001"], error: /^option '--canary-bake-ms <ms>' argument '3600001' is invalid\. It must be an integer from 0 to 3600000/ },
    { args: ["serve", "--xds-port", "9000", "--admin-port", "9000"], error: /^--xds-port and --admin-port are both 9000; they must differ \(0 picks a free port\)$/ },
    { args: ["serve", "--admin-port", "9000", "--dns-port", "9000"], error: /^--admin-port and --dns-port are both 9000; they must differ \(0 picks a free port\)$/ },
    { args: ["serve", "--dns-port", "18000"], error: /^--xds-port and --dns-port are both 18000; they must differ/ },
    { args: ["serve", "--dns-ttl", "86401"], error: /^option '--dns-ttl <seconds>' argument '86401' is invalid\. It must be an integer from 0 to 86400/ },
    { args: ["serve", "--dns-ttl", "-1"], error: /argument '-1' is invalid\. It must be an integer from 0 to 86400/ },
  ];
  for (const bad of badInput) {
    it(`cli - rejects "${bad.args.join(" ")}" with one line on stderr`, async () => {
      assertOneLineError(await run(bad.args), bad.error);
    });
  }
});

/** Signals under the test's control; `exit` is recorded instead of ending the test process. */
function fakeSignals(): SignalSource & { emit(signal: StopSignal): void; listeners(): number; readonly exits: number[] } {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    once: (signal, listener) => void emitter.once(signal, listener),
    off: (signal, listener) => void emitter.off(signal, listener),
    exit: (code) => void exits.push(code),
    emit: (signal) => void emitter.emit(signal),
    listeners: () => emitter.listenerCount("SIGINT") + emitter.listenerCount("SIGTERM"),
    exits,
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A stand-in for startServer that records its options and lets the test decide when close() finishes. */
function fakeServer(finishClose: Promise<void> = Promise.resolve()) {
  const started = deferred<ServeOptions>();
  const closeCalled = deferred();
  const server: RunningServer = {
    xds: { host: "127.0.0.1", port: 41000 },
    admin: { host: "::1", port: 41001 },
    dns: { host: "::1", port: 41002 },
    xdsServer: { listen: async () => ({ host: "127.0.0.1", port: 41000 }), clients: () => [], clientCounts: () => ({ behind: 0, nacking: 0, sotw: 0, delta: 0 }), close: async () => undefined },
    guard: createFakePushGuard(),
    close: async () => {
      closeCalled.resolve();
      await finishClose;
    },
  };
  const startServer = async (options: ServeOptions) => (started.resolve(options), server);
  return { startServer, started: started.promise, closeCalled: closeCalled.promise };
}

describe("cli serve", () => {
  it("cli - serve passes its flags to startServer, prints one line per listener and stops on SIGTERM", async () => {
    const signals = fakeSignals();
    const fake = fakeServer();
    const stdout = capture();
    const running = main(
      [
        "node", "steadymesh", "serve", "--store", "memory", "--xds-port", "0", "--admin-port", "0", "--dns-port", "5353", "--dns-domain", "svc.example",
        "--dns-ttl", "30", "--bind", "::1", "--data-dir", "/tmp/x", "--push-min-delay-ms", "0", "--push-max-delay-ms", "250", "--no-guard",
        "--guard-max-resource-removal", "0.25", "--guard-max-endpoint-removal", "1", "--guard-drain-step", ".2", "--guard-drain-interval-ms", "60000",
        "--canary", "node-id=canary-*", "--canary", "metadata.track=canary=yes", "--canary-bake-ms", "0", "--ttl-grace-ms", "5000",
        "--admin-host", "mesh.example", "--admin-host", "10.0.0.5", "--keep-generations", "50", "--keep-generations-max-age-ms", "86400000", "--auth", "off",
        "--lab-reports", "reports/lab",
      ],
      { stdout: stdout.stream, stderr: capture().stream, startServer: fake.startServer, signals, logger: createSilentLogger() },
    );
    const options = await fake.started;
    const { logger: _logger, ...rest } = options;
    assert.deepEqual(rest, {
      dataDir: "/tmp/x", store: "memory", xdsPort: 0, adminPort: 0, dnsPort: 5353, dnsDomain: "svc.example", dnsTtlSeconds: 30,
      bind: "::1", adminHosts: ["mesh.example", "10.0.0.5"], pushMinDelayMs: 0, pushMaxDelayMs: 250, enableFaults: false, bodyLimit: 65536, ttlGraceMs: 5000, healthDamping: SERVE_DEFAULTS.healthDamping, auth: false,
      trustDomain: "steadymesh.local", certTtlMs: 86_400_000, insecureBind: false, labReportsDir: resolve("reports/lab"),
      guard: { enabled: false, maxResourceRemoval: 0.25, maxEndpointRemoval: 1, drainStep: 0.2, drainIntervalMs: 60_000 },
      rollout: { canary: [{ kind: "node-id", glob: "canary-*" }, { kind: "metadata", key: "track", value: "canary=yes" }], bakeMs: 0 },
      retention: { keep: 50, maxAgeMs: 86_400_000 },
    });
    signals.emit("SIGTERM");
    assert.equal(await running, 0);
    assert.equal(
      stdout.text(),
      "steadymesh: xds listening on 127.0.0.1:41000\nsteadymesh: admin listening on [::1]:41001\nsteadymesh: dns listening on [::1]:41002\n",
    );
    assert.equal(signals.listeners(), 0);
    assert.deepEqual(signals.exits, []);
  });

  it("cli - serve without flags passes SERVE_DEFAULTS; --enable-faults turns the fault API on", async () => {
    const signals = fakeSignals();
    const fake = fakeServer();
    const running = main(["node", "steadymesh", "serve", "--enable-faults"], { stdout: capture().stream, stderr: capture().stream, startServer: fake.startServer, signals, logger: createSilentLogger() });
    const { logger: _logger, ...options } = await fake.started;
    // The lab-reports dir is made absolute against serve's working directory.
    assert.deepEqual(options, { ...SERVE_DEFAULTS, enableFaults: true, labReportsDir: resolve(SERVE_DEFAULTS.labReportsDir) });
    signals.emit("SIGINT");
    assert.equal(await running, 0);
  });

  it("cli - serve --auth off is refused unless --bind is loopback, and --auth takes only on or off", async () => {
    const fake = fakeServer();
    const open = await run(["serve", "--auth", "off", "--bind", "0.0.0.0"], { startServer: fake.startServer, signals: fakeSignals(), logger: createSilentLogger() });
    assert.deepEqual(open, { code: 1, stdout: "", stderr: "steadymesh: error: --auth off is allowed only with a loopback --bind (127.0.0.1 or ::1), not 0.0.0.0; drop --auth off to require admin API tokens\n" });
    const bad = await run(["serve", "--auth", "maybe"], { startServer: fake.startServer, signals: fakeSignals(), logger: createSilentLogger() });
    assert.match(bad.stderr, /^steadymesh: error: option '--auth <on\|off>' argument 'maybe' is invalid\. It must be one of on, off/);
  });

  it("cli - a second signal while closing forces the exit", async () => {
    const signals = fakeSignals();
    const finish = deferred();
    const fake = fakeServer(finish.promise);
    const running = main(["node", "steadymesh", "serve"], { stdout: capture().stream, stderr: capture().stream, startServer: fake.startServer, signals, logger: createSilentLogger() });
    await fake.started;
    signals.emit("SIGINT");
    await fake.closeCalled;
    signals.emit("SIGINT");
    assert.deepEqual(signals.exits, [130]);
    finish.resolve();
    assert.equal(await running, 0);
    assert.equal(signals.listeners(), 0);
  });

  it("cli - a server that fails to start is one line on stderr, with no signal listeners left behind", async () => {
    const signals = fakeSignals();
    const startServer = async (): Promise<RunningServer> => {
      throw new Error("listen EADDRINUSE: address already in use 127.0.0.1:18080");
    };
    const result = await run(["serve"], { startServer, signals, logger: createSilentLogger() });
    assertOneLineError(result, /^listen EADDRINUSE: address already in use 127\.0\.0\.1:18080$/);
    assert.equal(signals.listeners(), 0);
  });
});

describe("paging of large reads", () => {
  let registry: Registry;
  let admin: AdminServer;
  let url: string;
  const SERVICES = 2_500;

  before(async () => {
    const store = createMemoryStore();
    const svc = (name: string) => ({ name, protocol: "grpc" as const, lbPolicy: "round_robin" as const, metadata: {} });
    await store.commit(Array.from({ length: SERVICES }, (_, i) => {
      const name = `svc-${String(i).padStart(4, "0")}`;
      return { kind: "put-instance" as const, serviceDefaults: svc(name), instance: { service: name, id: "i0", address: "10.0.0.1", port: 8000, zone: "", region: "", weight: 1, health: "healthy" as const, metadata: {} } };
    }));
    registry = await createRegistry(store);
    admin = createAdminServer({ auth: { required: false }, registry, clients: { list: () => [] }, metrics: createMetrics({ processMetrics: false }), logger: createSilentLogger(), generations: createFakeGenerations([]) });
    const address = await admin.listen("127.0.0.1", 0);
    url = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await admin.close();
    await registry.close();
  });

  it("admin - GET /v1/services pages by name: 1,000 by default, following next visits every service once; bad limit and after are 400", async () => {
    const first = (await admin.inject("/v1/services")).json() as { services: { name: string }[]; next?: string };
    assert.equal(first.services.length, 1000);
    assert.equal(first.next, "svc-0999");
    const names: string[] = [];
    let pages = 0;
    for (let after: string | undefined, started = false; !started || after !== undefined; pages++, started = true) {
      const page = (await admin.inject(`/v1/services?limit=700${after === undefined ? "" : `&after=${after}`}`)).json() as { services: { name: string }[]; next?: string };
      names.push(...page.services.map((s) => s.name));
      after = page.next;
    }
    assert.equal(pages, 4);
    assert.deepEqual(names, Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(4, "0")}`));
    for (const [query, error] of [
      ["limit=0", 'limit: must be an integer from 1 to 5000, got "0"'],
      ["after=Bad!", 'after: must be a service name (the next of the previous page), got "Bad!"'],
      ["page=2", "page: unknown query parameter; allowed are limit, after, q and view"],
    ]) {
      const response = await admin.inject(`/v1/services?${query}`);
      assert.deepEqual([response.statusCode, response.json()], [400, { error }]);
    }
  });

  it("cli - list follows the pages and prints every service", async () => {
    const result = await run(["list", "--admin", url]);
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.trim().split("\n").slice(1);
    assert.equal(rows.length, SERVICES);
    assert.match(rows.at(-1)!, /^svc-2499 /);
    const json = JSON.parse((await run(["list", "--json", "--admin", url])).stdout) as { services: unknown[] };
    assert.equal(json.services.length, SERVICES);
  });
});
