import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import dns from "node:dns";
import { connect, createServer, type Server } from "node:net";
import { test } from "node:test";
import dnsPacket from "dns-packet";
import { ScenarioError, parseScenario } from "../../src/lab/index.js";
import { gatewayOptions, meshLookupEnv } from "../../src/lab/runner/fleet.js";
import { loopbackAddress, startLoginBalancer } from "../../src/lab/runner/login-balancer.js";
import { inMeshDomain, installMeshLookup, MESH_LOOKUP_ENV } from "../../src/lab/runner/mesh-lookup.js";
import { createStartGate } from "../../src/lab/runner/start-gate.js";

/**
 * The lab cohort xds-dns-fallback: its host-resolver model (names under
 * .mesh answered by steadymesh's DNS, others by getaddrinfo), the login load
 * balancer its dnsFallback policy names, its gateways' options, and the
 * scenario fields it brings (the mode, a policy entry's controlPlanes, the
 * lab's one allowed dnsFallback).
 */

/** A DNS server on UDP that answers A questions from `records` and NXDOMAIN otherwise; counts the questions. */
async function fakeDns(records: Record<string, string[]>): Promise<{ server: string; asked: string[]; close: () => Promise<void> }> {
  const asked: string[] = [];
  const udp = createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    const query = dnsPacket.decode(msg);
    const q = query.questions![0]!;
    asked.push(`${q.type} ${q.name}`);
    const addresses = q.type === "A" ? (records[q.name.toLowerCase()] ?? []) : [];
    const reply = dnsPacket.encode({
      type: "response",
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (records[q.name.toLowerCase()] ? 0 : 3),
      questions: query.questions,
      answers: addresses.map((data) => ({ type: "A" as const, name: q.name, ttl: 5, data })),
    });
    udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", () => resolve()));
  return { server: `127.0.0.1:${udp.address().port}`, asked, close: () => new Promise<void>((r) => udp.close(() => r())) };
}

test("lab dns fallback - a name is in the mesh domain when it is the domain or under it, whatever its case or trailing dot", () => {
  assert.equal(inMeshDomain("login-lb.service.mesh", "mesh"), true);
  assert.equal(inMeshDomain("LOGIN.Service.Mesh.", "mesh"), true);
  assert.equal(inMeshDomain("mesh", "mesh"), true);
  assert.equal(inMeshDomain("notmesh", "mesh"), false);
  assert.equal(inMeshDomain("mesh.example.com", "mesh"), false);
  assert.equal(inMeshDomain("localhost", "mesh"), false);
});

test("lab dns fallback - the host-resolver model answers .mesh names from the DNS server and passes other names to getaddrinfo", async (t) => {
  const server = await fakeDns({ "login-lb.service.mesh": ["127.101.2.3", "127.101.2.4"] });
  const restore = installMeshLookup({ server: server.server, domain: "mesh" });
  t.after(async () => {
    restore();
    await server.close();
  });
  assert.deepEqual(await dns.promises.lookup("login-lb.service.mesh", { all: true }), [
    { address: "127.101.2.3", family: 4 },
    { address: "127.101.2.4", family: 4 },
  ]);
  assert.deepEqual(await dns.promises.lookup("login-lb.service.mesh"), { address: "127.101.2.3", family: 4 });
  const viaCallback = await new Promise<[string, number]>((resolve, reject) =>
    dns.lookup("login-lb.service.mesh", (err, address, family) => (err ? reject(err) : resolve([address, family]))),
  );
  assert.deepEqual(viaCallback, ["127.101.2.3", 4]);
  await assert.rejects(dns.promises.lookup("nothing.service.mesh"), (err: NodeJS.ErrnoException) => err.code === "ENOTFOUND");
  await assert.rejects(dns.promises.lookup("login-lb.service.mesh", { family: 6 }), (err: NodeJS.ErrnoException) => err.code === "ENOTFOUND");
  await assert.rejects(dns.promises.resolveTxt("_grpc_config.login-lb.service.mesh"), (err: NodeJS.ErrnoException) => err.code === "ENODATA");
  const before = server.asked.length;
  // Another name never reaches the mesh DNS server: getaddrinfo answers it (/etc/hosts).
  const local = await dns.promises.lookup("localhost", { all: true });
  assert.ok(local.length > 0);
  assert.equal(server.asked.length, before);
  assert.deepEqual(server.asked.filter((q) => q.startsWith("A ")).length, 4);
  restore();
  // Restored: the mesh name goes to the system resolver again, which does not know it.
  await assert.rejects(dns.promises.lookup("login-lb.service.mesh"));
});

test("lab dns fallback - a gateway started with the cohort's environment resolves .mesh through the preload (NODE_OPTIONS), other names as before", async (t) => {
  const server = await fakeDns({ "login-lb.service.mesh": ["127.101.9.9"] });
  t.after(() => server.close());
  const script = `const dns = require("node:dns");
Promise.all([dns.promises.lookup("login-lb.service.mesh", { all: true }), dns.promises.lookup("localhost")])
  .then(([mesh, local]) => console.log(JSON.stringify({ mesh, local: local.address.length > 0 })), (e) => { console.log(e.code); process.exit(1); });`;
  const child = spawn(process.execPath, ["-e", script], { env: meshLookupEnv(server.server, "mesh"), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, err);
  assert.deepEqual(JSON.parse(out), { mesh: [{ address: "127.101.9.9", family: 4 }], local: true });
});

async function taggedBackend(tag: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.end(tag));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { port: (server.address() as { port: number }).port, server };
}

function firstBytes(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const s = connect(port, address);
    s.on("data", (d) => (got += d.toString()));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

test("lab dns fallback - the login load balancer listens on a loopback address of its own and hands connections to each login instance in turn", async (t) => {
  const a = await taggedBackend("a");
  const b = await taggedBackend("b");
  const balancer = await startLoginBalancer(() => [a.port, b.port], 0);
  t.after(async () => {
    await balancer.stop();
    a.server.close();
    b.server.close();
  });
  assert.match(balancer.address, /^127\.1\d\d\.\d+\.\d+$/);
  assert.notEqual(balancer.port, 0);
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await firstBytes(balancer.address, balancer.port));
  assert.deepEqual(got, ["a", "b", "a", "b"]);
  assert.equal(balancer.connections(), 4);
});

test("lab dns fallback - with no login instance the balancer closes the connection instead of hanging", async (t) => {
  const balancer = await startLoginBalancer(() => [], 0);
  t.after(() => balancer.stop());
  assert.equal(await firstBytes(balancer.address, balancer.port), "");
  assert.equal(balancer.connections(), 0);
});

test("lab dns fallback - loopback addresses stay in 127.100-199.1-254.1-254, never 127.0.0.1", () => {
  assert.equal(loopbackAddress(() => 0), "127.100.1.1");
  assert.equal(loopbackAddress(() => 0.999999), "127.199.254.254");
});

test("lab dns fallback - an xds-dns-fallback gateway is the stock xDS client with a default bootstrap and the resolver preload; other modes get no preload", () => {
  const env = { xdsPort: 1, dnsPort: 2, adminUrl: "http://127.0.0.1:3", workDir: "/nonexistent", gate: createStartGate(1) };
  const fallback = gatewayOptions("xds-dns-fallback", "gw", env);
  const stock = gatewayOptions("xds-default", "gw", env);
  assert.equal(fallback.discovery, "xds");
  assert.deepEqual(fallback.bootstrap, stock.bootstrap);
  assert.equal(stock.env, undefined);
  assert.equal(fallback.env?.[MESH_LOOKUP_ENV.server], "127.0.0.1:2");
  assert.equal(fallback.env?.[MESH_LOOKUP_ENV.domain], "mesh");
  assert.match(fallback.env?.["NODE_OPTIONS"] ?? "", /--import=file:\S+mesh-lookup-preload\.(ts|js)/);
});

const SCENARIO = (policyExtra: string, planes = "[primary, guarded]") => `name: fallback
description: DNS fallback.
speed: 2
end: "+300s"
topology:
  instances: { login: 2 }
  controlPlanes: ${planes}
cohorts:
  - { name: stock, discovery: xds-default }
  - { name: fallback, discovery: xds-dns-fallback, controlPlane: guarded }
workload:
  users: 10
  loggedInShare: 0.5
  loginRatePerSec: 2
  retry: { baseMs: 100, maxMs: 1000, jitter: 0.2 }
timeline:
  - at: "+0s"
    action: policy
${policyExtra}
  - { at: "+60s", action: fault, kind: empty-endpoints, services: [login] }
  - { at: "+120s", action: clear-fault }
`;

const GOOD_POLICY = `    service: login
    controlPlanes: [guarded]
    policy:
      dnsFallback: { name: login-lb.service.mesh, port: 15443 }`;

function issuesOf(text: string): string[] {
  try {
    parseScenario(text, "bad.yaml");
  } catch (err) {
    assert.ok(err instanceof ScenarioError, `expected a ScenarioError, got ${String(err)}`);
    return err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  }
  assert.fail("expected a ScenarioError, but the scenario loaded");
}

test("lab dns fallback - the mode, a policy entry's controlPlanes and a dnsFallback policy load", () => {
  const scenario = parseScenario(SCENARIO(GOOD_POLICY), "ok.yaml");
  assert.equal(scenario.cohorts[1]!.discovery, "xds-dns-fallback");
  const entry = scenario.timeline[0]!;
  assert.equal(entry.action, "policy");
  if (entry.action !== "policy") return;
  assert.deepEqual(entry.controlPlanes, ["guarded"]);
  assert.deepEqual(entry.policy.dnsFallback, { name: "login-lb.service.mesh", port: 15443 });
  // Without controlPlanes: every control plane, as before.
  const all = parseScenario(SCENARIO(GOOD_POLICY.replace("    controlPlanes: [guarded]\n", "")), "ok.yaml").timeline[0]!;
  assert.equal(all.action === "policy" && all.controlPlanes, undefined);
});

test("lab dns fallback - bad controlPlanes and dnsFallback values are one line each, with the path and what is allowed", () => {
  assert.deepEqual(issuesOf(SCENARIO(GOOD_POLICY, "[primary]").replace(", controlPlane: guarded", "")), [
    'timeline[0].controlPlanes[0]: must be a control plane in topology.controlPlanes (primary), got "guarded"',
  ]);
  assert.deepEqual(issuesOf(SCENARIO(GOOD_POLICY.replace("[guarded]", "[]"))), ["timeline[0].controlPlanes: must name at least one control plane; leave it out for every one"]);
  assert.deepEqual(issuesOf(SCENARIO(GOOD_POLICY.replace("[guarded]", "[guarded, guarded]"))), ['timeline[0].controlPlanes[1]: names "guarded" twice']);
  assert.deepEqual(issuesOf(SCENARIO(GOOD_POLICY.replace("[guarded]", "[backup]"))), ['timeline[0].controlPlanes[0]: must be a control plane, one of primary, guarded, guarded-2, got "backup"']);
  assert.deepEqual(issuesOf(SCENARIO(GOOD_POLICY.replace("port: 15443", "port: 443"))), [
    "timeline[0].policy.dnsFallback: must be { name: login-lb.service.mesh, port: 15443 }, the lab's login load balancer, got login-lb.service.mesh:443",
  ]);
  assert.deepEqual(issuesOf(SCENARIO(GOOD_POLICY.replace("service: login", "service: accounts"))), [
    'timeline[0].policy.dnsFallback: is only allowed on service "login" in the lab (its login load balancer, login-lb.service.mesh:15443, is the one DNS fallback it serves), got service "accounts"',
  ]);
  // The registry's own rule for the port, in its words, under the entry's path.
  const port = issuesOf(SCENARIO(GOOD_POLICY.replace("port: 15443", "port: 0")));
  assert.equal(port.length, 1);
  assert.match(port[0]!, /^timeline\[0\]\.policy\.dnsFallback\.port: /);
});

test("lab dns fallback - xds-dns-fallback is one of the discovery modes a cohort may name", () => {
  const issues = issuesOf(SCENARIO(GOOD_POLICY).replace("discovery: xds-dns-fallback", "discovery: dns-fallback"));
  assert.equal(issues.length, 1);
  assert.match(issues[0]!, /cohorts\[1\]\.discovery: must be one of .*xds-dns-fallback, got "dns-fallback"/);
});
