import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from "dns-packet";
import { createFakeClock } from "../helpers/fake-clock.js";
import { answerQuery, createZone } from "../../src/dns/index.js";
import { createQueryHandler } from "../../src/dns/query-handler.js";
import { createSilentLogger } from "../../src/log/index.js";
import type { Health, Instance, RegistryView, ServiceEntry, TrafficPolicy } from "../../src/registry/index.js";

type Decoded = DecodedPacket & { rcode: string };

function instance(id: string, address: string, version: string | undefined, health: Health = "healthy"): Instance {
  return { service: "login", id, address, port: 50051, zone: "", region: "", weight: 1, health, metadata: version === undefined ? {} : { version, team: "auth" } };
}

const POLICY: TrafficPolicy = {
  subsets: [
    { name: "v1", match: { version: "1" } },
    { name: "v2", match: { version: "2", team: "auth" } },
    { name: "v3", match: { version: "3" } },
  ],
  routes: [{ match: {}, to: [{ subset: "v1", weight: 95 }, { subset: "v2", weight: 5 }] }],
};

function entry(instances: Instance[], policy: TrafficPolicy | null = POLICY): ServiceEntry {
  return {
    service: { name: "login", protocol: "grpc", lbPolicy: "round_robin", metadata: {}, ...(policy && { policy }) },
    instances: new Map(instances.map((i) => [i.id, i])),
  };
}

const INSTANCES = [
  instance("a", "10.0.0.1", "1"),
  instance("b", "10.0.0.2", "1", "unhealthy"),
  instance("c", "10.0.0.3", "2"),
  instance("d", "fd00::4", "2"),
  instance("e", "10.0.0.5", undefined),
];

function view(revision: number, e: ServiceEntry): RegistryView {
  return { revision, services: new Map([["login", e]]) };
}

const VIEW = view(7, entry(INSTANCES));
const ZONE = createZone({ domain: "mesh", ttlSeconds: 5 });

function query(name: string, type: string, id = 1): Buffer {
  return dnsPacket.encode({ type: "query", id, questions: [{ name, type, class: "IN" }] } as Packet);
}

function ask(name: string, type: string, current: RegistryView = VIEW): Decoded {
  const outcome = answerQuery(query(name, type), { view: current, zone: ZONE, transport: "tcp" });
  assert.ok(outcome.response);
  return dnsPacket.decode(outcome.response) as Decoded;
}

const data = (answers: Answer[] | undefined): unknown[] => (answers ?? []).map((a) => ("data" in a ? a.data : undefined)).sort();

test("dns subset - <subset>.<service> A/AAAA lists the healthy instances whose metadata matches the subset", () => {
  assert.deepEqual(data(ask("v1.login.service.mesh", "A").answers), ["10.0.0.1"]);
  assert.deepEqual(data(ask("v2.login.service.mesh", "A").answers), ["10.0.0.3"]);
  assert.deepEqual(data(ask("V2.Login.service.mesh", "AAAA").answers), ["fd00::4"]);
  const reply = ask("v2.login.service.mesh", "A");
  assert.equal(reply.rcode, "NOERROR");
  assert.ok(reply.flag_aa);
});

test("dns subset - the plain service name keeps every healthy instance, whatever its subset", () => {
  assert.deepEqual(data(ask("login.service.mesh", "A").answers), ["10.0.0.1", "10.0.0.3", "10.0.0.5"]);
  assert.deepEqual(data(ask("login.service.mesh", "AAAA").answers), ["fd00::4"]);
});

test("dns subset - a subset with no healthy instance is NODATA; an unknown subset, or any subset without a policy, is NXDOMAIN", () => {
  const empty = ask("v3.login.service.mesh", "A");
  assert.equal(empty.rcode, "NOERROR");
  assert.deepEqual(empty.answers, []);
  assert.equal(ask("v9.login.service.mesh", "A").rcode, "NXDOMAIN");
  assert.equal(ask("v1.login.service.mesh", "A", view(7, entry(INSTANCES, null))).rcode, "NXDOMAIN");
  assert.equal(ask("x.v1.login.service.mesh", "A").rcode, "NXDOMAIN");
});

test("dns subset - SRV _<subset>._tcp.<service> lists the subset's healthy instances, targets their instance names", () => {
  const srv = ask("_v2._tcp.login.service.mesh", "SRV");
  assert.equal(srv.rcode, "NOERROR");
  assert.deepEqual(
    (srv.answers ?? []).map((a) => (a.type === "SRV" ? `${a.data.port} ${a.data.target}` : a.type)).sort(),
    ["50051 c.login.service.mesh", "50051 d.login.service.mesh"],
  );
  assert.deepEqual(data(srv.additionals?.filter((a) => a.type !== "OPT")), ["10.0.0.3", "fd00::4"]);
  assert.equal(ask("_v9._tcp.login.service.mesh", "SRV").rcode, "NXDOMAIN");
  assert.equal(ask("v2._tcp.login.service.mesh", "SRV").rcode, "NXDOMAIN");
});

test("dns subset - _tcp.<service> is an empty non-terminal (NODATA) only when the service has subsets", () => {
  const structure = ask("_tcp.login.service.mesh", "SRV");
  assert.equal(structure.rcode, "NOERROR");
  assert.deepEqual(structure.answers, []);
  assert.equal(ask("_tcp.login.service.mesh", "SRV", view(7, entry(INSTANCES, null))).rcode, "NXDOMAIN");
});

test("dns subset - an instance whose id equals a subset name keeps its instance name (it is an SRV target)", () => {
  const shadowing = view(7, entry([...INSTANCES, instance("v1", "10.0.0.9", "2")]));
  assert.deepEqual(data(ask("v1.login.service.mesh", "A", shadowing).answers), ["10.0.0.9"]);
  assert.deepEqual(data(ask("v2.login.service.mesh", "A", shadowing).answers), ["10.0.0.3", "10.0.0.9"]);
});

test("dns subset - a policy change is a new revision: the answer cache gives the new subset answer, not the kept one", () => {
  let current = VIEW;
  const { handle } = createQueryHandler({ zone: () => ZONE, view: () => current, logger: createSilentLogger(), clock: createFakeClock(), cacheBytes: 1 << 20 });
  const peer = { address: "192.0.2.1", port: 5353 };
  const addresses = (bytes: Buffer | undefined) => data((dnsPacket.decode(bytes!) as Decoded).answers);
  assert.deepEqual(addresses(handle(query("v2.login.service.mesh", "A"), "udp", peer).response), ["10.0.0.3"]);
  const moved: TrafficPolicy = { ...POLICY, subsets: [{ name: "v2", match: { version: "1" } }] };
  current = view(8, entry(INSTANCES, moved));
  assert.deepEqual(addresses(handle(query("v2.login.service.mesh", "A"), "udp", peer).response), ["10.0.0.1"]);
  current = view(9, entry(INSTANCES, null));
  assert.equal((dnsPacket.decode(handle(query("v2.login.service.mesh", "A"), "udp", peer).response!) as Decoded).rcode, "NXDOMAIN");
});
