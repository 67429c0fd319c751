import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createFakeClock } from "../helpers/fake-clock.js";
import { dig } from "../helpers/dig.js";
import { createDnsServer, type DnsServer } from "../../src/dns/index.js";
import { createSilentLogger } from "../../src/log/index.js";
import type { Instance, RegistryView, TrafficPolicy } from "../../src/registry/index.js";

function instance(id: string, address: string, port: number, version: string): Instance {
  return { service: "login", id, address, port, zone: "", region: "", weight: 1, health: "healthy", metadata: { version } };
}

const POLICY: TrafficPolicy = {
  subsets: [
    { name: "v1", match: { version: "1" } },
    { name: "v2", match: { version: "2" } },
  ],
  routes: [{ match: {}, to: [{ subset: "v1", weight: 95 }, { subset: "v2", weight: 5 }] }],
};

function view(revision: number, policy: TrafficPolicy | undefined): RegistryView {
  const instances = [instance("a", "127.0.0.1", 50051, "1"), instance("b", "127.0.0.2", 50052, "1"), instance("c", "::1", 50053, "2")];
  const service = { name: "login", protocol: "grpc" as const, lbPolicy: "round_robin" as const, metadata: {}, ...(policy && { policy }) };
  return { revision, services: new Map([["login", { service, instances: new Map(instances.map((i) => [i.id, i])) }]]) };
}

let current = view(1, POLICY);
let server: DnsServer;
let port: number;

before(async () => {
  server = createDnsServer({ registry: { view: () => current }, logger: createSilentLogger(), clock: createFakeClock(1_000_000) });
  port = (await server.listen("127.0.0.1", 0)).port;
});

after(async () => {
  await server?.close();
});

const digAt = (...args: string[]) => dig(port, args);

test("dns subset - dig: <subset>.<service> answers with the subset's instances, the service name with all of them", async () => {
  const v1 = await digAt("v1.login.service.mesh", "A");
  assert.equal(v1.status, "NOERROR");
  assert.ok(v1.flags.includes("aa"), v1.output);
  assert.deepEqual(v1.answer.map((r) => r.data).sort(), ["127.0.0.1", "127.0.0.2"]);
  assert.deepEqual((await digAt("v2.login.service.mesh", "A")).answer, []);
  assert.deepEqual((await digAt("v2.login.service.mesh", "AAAA")).answer.map((r) => [r.name, r.type, r.data]), [["v2.login.service.mesh.", "AAAA", "::1"]]);
  assert.deepEqual((await digAt("login.service.mesh", "A")).answer.map((r) => r.data).sort(), ["127.0.0.1", "127.0.0.2"]);
  assert.deepEqual((await digAt("login.service.mesh", "AAAA")).answer.map((r) => r.data), ["::1"]);
});

test("dns subset - dig: SRV for a subset, over TCP too, with its targets as glue", async () => {
  for (const transport of ["+notcp", "+tcp"]) {
    const srv = await digAt("_v1._tcp.login.service.mesh", "SRV", transport);
    assert.equal(srv.status, "NOERROR", srv.output);
    assert.deepEqual(srv.answer.map((r) => r.data).sort(), ["0 1 50051 a.login.service.mesh.", "0 1 50052 b.login.service.mesh."]);
    assert.deepEqual(srv.additional.map((r) => r.data).sort(), ["127.0.0.1", "127.0.0.2"]);
  }
});

test("dns subset - dig: an unknown subset is NXDOMAIN, and so is every subset once the policy is gone", async () => {
  const unknown = await digAt("v9.login.service.mesh", "A");
  assert.equal(unknown.status, "NXDOMAIN");
  assert.equal(unknown.authority[0]?.type, "SOA");
  current = view(2, undefined);
  assert.equal((await digAt("v1.login.service.mesh", "A")).status, "NXDOMAIN");
  assert.deepEqual((await digAt("login.service.mesh", "A")).answer.map((r) => r.data).sort(), ["127.0.0.1", "127.0.0.2"]);
  current = view(3, POLICY);
  assert.deepEqual((await digAt("v1.login.service.mesh", "A")).answer.map((r) => r.data).sort(), ["127.0.0.1", "127.0.0.2"]);
});
