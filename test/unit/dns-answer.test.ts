import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet, type SoaAnswer, type SrvAnswer } from "dns-packet";
import { answerQuery, createZone, type DnsTransport, type QueryOutcome, type Zone } from "../../src/dns/index.js";
import type { Health, Instance, RegistryView, ServiceEntry } from "../../src/registry/index.js";

type Decoded = DecodedPacket & { rcode: string; opcode: string };

function instance(service: string, id: string, address: string, extra: { health?: Health; weight?: number; port?: number } = {}): Instance {
  return { service, id, address, port: extra.port ?? 50051, zone: "", region: "", weight: extra.weight ?? 1, health: extra.health ?? "healthy", metadata: {} };
}

function entry(name: string, instances: Instance[]): ServiceEntry {
  return { service: { name, protocol: "grpc", lbPolicy: "round_robin", metadata: {} }, instances: new Map(instances.map((i) => [i.id, i])) };
}

function view(revision: number, entries: ServiceEntry[]): RegistryView {
  return { revision, services: new Map(entries.map((e) => [e.service.name, e])) };
}

const VIEW = view(42, [
  entry("greeter", [
    instance("greeter", "a", "10.0.0.1", { weight: 5, port: 50051 }),
    instance("greeter", "b", "fd00::2", { weight: 70_000, port: 50052 }),
    instance("greeter", "c", "10.0.0.3", { health: "draining" }),
    instance("greeter", "d", "10.0.0.4", { health: "unhealthy" }),
    instance("greeter", "e", "10.0.0.5", { health: "unknown" }),
    instance("greeter", "f", "fe80::1%eth0"),
  ]),
  entry("idle", []),
]);
const ZONE = createZone({ domain: "mesh", ttlSeconds: 5, nameserverAddresses: ["127.0.0.53"] });

interface QueryOptions {
  id?: number;
  rd?: boolean;
  /** Advertised UDP payload size; no OPT record when absent. */
  edns?: number;
  ednsVersion?: number;
  opcode?: number;
  class?: string;
}

function query(name: string, type: string, options: QueryOptions = {}): Buffer {
  const opt: OptAnswer[] =
    options.edns === undefined
      ? []
      : [{ type: "OPT", name: ".", udpPayloadSize: options.edns, extendedRcode: 0, ednsVersion: options.ednsVersion ?? 0, flags: 0, flag_do: false, options: [] }];
  const packet = {
    type: "query",
    id: options.id ?? 4242,
    flags: (options.rd ? dnsPacket.RECURSION_DESIRED : 0) | ((options.opcode ?? 0) << 11),
    questions: [{ name, type, class: options.class ?? "IN" }],
    additionals: opt,
  } as Packet;
  return dnsPacket.encode(packet);
}

function ask(bytes: Buffer, context: { view?: RegistryView; zone?: Zone; transport?: DnsTransport } = {}): { outcome: QueryOutcome; response: Decoded } {
  const outcome = answerQuery(bytes, { view: context.view ?? VIEW, zone: context.zone ?? ZONE, transport: context.transport ?? "udp" });
  assert.ok(outcome.response, `expected a response, got ${JSON.stringify(outcome)}`);
  return { outcome, response: dnsPacket.decode(outcome.response) as Decoded };
}

const data = (answers: Answer[] | undefined): unknown[] => (answers ?? []).map((a) => ("data" in a ? a.data : undefined));
const types = (answers: Answer[] | undefined): string[] => (answers ?? []).map((a) => a.type);

test("dns answer - A lists healthy IPv4 instances only, authoritative, with the configured TTL", () => {
  const { response } = ask(query("greeter.service.mesh", "A"));
  assert.equal(response.rcode, "NOERROR");
  assert.equal(response.type, "response");
  assert.equal(response.id, 4242);
  assert.ok(response.flag_aa);
  assert.equal(response.flag_ra, false);
  assert.equal(response.flag_tc, false);
  assert.deepEqual(data(response.answers), ["10.0.0.1"]);
  assert.deepEqual(response.answers!.map((a) => ("ttl" in a ? a.ttl : -1)), [5]);
  const longer = ask(query("greeter.service.mesh", "A"), { zone: createZone({ domain: "mesh", ttlSeconds: 30 }) });
  assert.deepEqual(longer.response.answers!.map((a) => ("ttl" in a ? a.ttl : -1)), [30]);
});

test("dns answer - AAAA lists healthy IPv6 instances; one with a zone index has no DNS form", () => {
  const { response } = ask(query("greeter.service.mesh", "AAAA"));
  assert.deepEqual(types(response.answers), ["AAAA"]);
  assert.deepEqual(data(response.answers), ["fd00::2"]);
});

test("dns answer - RD is copied, RA never set", () => {
  assert.equal(ask(query("greeter.service.mesh", "A", { rd: true })).response.flag_rd, true);
  assert.equal(ask(query("greeter.service.mesh", "A", { rd: false })).response.flag_rd, false);
  assert.equal(ask(query("greeter.service.mesh", "A", { rd: true })).response.flag_ra, false);
});

test("dns answer - names match in any case and are answered in the question's case", () => {
  const { response } = ask(query("GrEeTeR.SERVICE.Mesh", "A"));
  assert.equal(response.rcode, "NOERROR");
  assert.equal(response.questions![0]!.name, "GrEeTeR.SERVICE.Mesh");
  assert.deepEqual(response.answers!.map((a) => a.name), ["GrEeTeR.SERVICE.Mesh"]);
  assert.deepEqual(data(ask(query("_GREETER._TCP.service.MESH", "SRV")).response.answers).length, 2);
});

test("dns answer - SRV per healthy instance: priority 0, weight clamped to 65535, port, target with glue", () => {
  const { response } = ask(query("_greeter._tcp.service.mesh", "SRV", { edns: 1232 }));
  assert.equal(response.rcode, "NOERROR");
  assert.ok(response.flag_aa);
  assert.deepEqual(data(response.answers), [
    { priority: 0, weight: 5, port: 50051, target: "a.greeter.service.mesh" },
    { priority: 0, weight: 65535, port: 50052, target: "b.greeter.service.mesh" },
  ]);
  const glue = response.additionals!.filter((a) => a.type !== "OPT");
  assert.deepEqual(glue.map((a) => [a.name, a.type, "data" in a ? a.data : undefined]), [
    ["a.greeter.service.mesh", "A", "10.0.0.1"],
    ["b.greeter.service.mesh", "AAAA", "fd00::2"],
  ]);
});

test("dns answer - an instance name answers while the instance exists, whatever its health", () => {
  assert.deepEqual(data(ask(query("a.greeter.service.mesh", "A")).response.answers), ["10.0.0.1"]);
  assert.deepEqual(data(ask(query("c.greeter.service.mesh", "A")).response.answers), ["10.0.0.3"], "draining");
  assert.deepEqual(data(ask(query("d.greeter.service.mesh", "A")).response.answers), ["10.0.0.4"], "unhealthy");
  assert.equal(ask(query("zz.greeter.service.mesh", "A")).response.rcode, "NXDOMAIN");
});

test("dns answer - an existing name without records of the type is NODATA: NOERROR, no answers, SOA", () => {
  const cases: [string, string][] = [
    ["a.greeter.service.mesh", "AAAA"],
    ["greeter.service.mesh", "SRV"],
    ["_greeter._tcp.service.mesh", "A"],
    ["idle.service.mesh", "A"],
    ["_idle._tcp.service.mesh", "SRV"],
    ["service.mesh", "A"],
    ["_tcp.service.mesh", "SRV"],
    ["mesh", "A"],
  ];
  for (const [name, type] of cases) {
    const { response } = ask(query(name, type));
    assert.equal(response.rcode, "NOERROR", `${name} ${type}`);
    assert.ok(response.flag_aa, `${name} ${type}`);
    assert.deepEqual(response.answers, [], `${name} ${type}`);
    assert.deepEqual(types(response.authorities), ["SOA"], `${name} ${type}`);
  }
});

test("dns answer - unknown names under the domain are NXDOMAIN with the zone's SOA (serial = revision, minimum = TTL)", () => {
  for (const name of ["nope.service.mesh", "_nope._tcp.service.mesh", "x.mesh", "a.b.greeter.service.mesh", "greeter._tcp.service.mesh", "_greeter._udp.service.mesh"]) {
    const { response } = ask(query(name, "A"));
    assert.equal(response.rcode, "NXDOMAIN", name);
    assert.ok(response.flag_aa, name);
    assert.deepEqual(response.answers, [], name);
    const soa = response.authorities![0] as SoaAnswer;
    assert.equal(soa.name, "mesh");
    assert.equal(soa.ttl, 5);
    assert.deepEqual({ ...soa.data }, { mname: "ns.mesh", rname: "hostmaster.mesh", serial: 42, refresh: 60, retry: 10, expire: 86_400, minimum: 5 });
  }
});

test("dns answer - the apex answers SOA and NS, and ns.<domain> resolves to the configured address", () => {
  const soa = ask(query("mesh", "SOA")).response;
  assert.deepEqual(types(soa.answers), ["SOA"]);
  assert.equal((soa.answers![0] as SoaAnswer).data.serial, 42);
  const ns = ask(query("MESH", "NS", { edns: 1232 })).response;
  assert.deepEqual(data(ns.answers), ["ns.mesh"]);
  assert.deepEqual(ns.additionals!.filter((a) => a.type === "A").map((a) => ("data" in a ? a.data : "")), ["127.0.0.53"]);
  assert.deepEqual(data(ask(query("ns.mesh", "A")).response.answers), ["127.0.0.53"]);
  const none = createZone({ domain: "mesh", ttlSeconds: 5 });
  assert.deepEqual(ask(query("ns.mesh", "A"), { zone: none }).response.answers, [], "NODATA without a known address");
});

test("dns answer - ANY returns every record at the name", () => {
  const { response } = ask(query("greeter.service.mesh", "ANY"));
  assert.deepEqual(types(response.answers).sort(), ["A", "AAAA"]);
});

test("dns answer - a multi-label domain and its subdomain boundary", () => {
  const zone = createZone({ domain: "Svc.Example.", ttlSeconds: 5 });
  assert.equal(zone.domain, "svc.example");
  assert.deepEqual(data(ask(query("greeter.service.svc.example", "A"), { zone }).response.answers), ["10.0.0.1"]);
  assert.equal(ask(query("greeter.service.xsvc.example", "A"), { zone }).response.rcode, "REFUSED");
});

/** `bytes` with its first question's class set to `qclass`, whatever dns-packet can name. */
function withClass(bytes: Buffer, qclass: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt16BE(qclass, copy.length - 2);
  return copy;
}

test("dns answer - names outside the domain, every class but IN (ANY, CH, unknown, the mDNS QU bit) and zone transfers are REFUSED, not authoritative", () => {
  const a = query("greeter.service.mesh", "A");
  const cases: Buffer[] = [
    query("example.com", "A"),
    query("greeter.service.notmesh", "A"),
    query("mesh.example", "A"),
    query(".", "NS"),
    query("greeter.service.mesh", "A", { class: "CH" }),
    query("greeter.service.mesh", "A", { class: "HS" }),
    withClass(a, 255),
    withClass(a, 254),
    withClass(a, 0x8001),
    query("mesh", "AXFR"),
  ];
  for (const bytes of cases) {
    const { response } = ask(bytes);
    assert.equal(response.rcode, "REFUSED", response.questions![0]!.name);
    assert.equal(response.flag_aa, false);
    assert.deepEqual(response.answers, []);
    assert.equal(response.questions!.length, 1);
  }
  const unknown = answerQuery(withClass(a, 254), { view: VIEW, zone: ZONE, transport: "udp" }).response!;
  assert.deepEqual(unknown.subarray(12), withClass(a, 254).subarray(12), "the question is echoed as asked, class and all");
});

test("dns answer - undecodable bytes with a readable header get FORMERR with the id, and are flagged malformed", () => {
  const garbage = Buffer.from([0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x41]);
  const { outcome, response } = ask(garbage);
  assert.equal(response.rcode, "FORMERR");
  assert.equal(response.id, 0xbeef);
  assert.equal(response.flag_rd, true);
  assert.deepEqual(response.questions, []);
  assert.match(outcome.malformed ?? "", /cannot decode/);
});

test("dns answer - QDCOUNT other than 1, two OPT records, or a question that cannot be echoed get FORMERR", () => {
  const none = dnsPacket.encode({ type: "query", id: 1, questions: [] });
  const two = dnsPacket.encode({ type: "query", id: 2, questions: [{ name: "a.mesh", type: "A" }, { name: "b.mesh", type: "A" }] });
  const opt: OptAnswer = { type: "OPT", name: ".", udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
  const twoOpts = dnsPacket.encode({ type: "query", id: 3, questions: [{ name: "mesh", type: "SOA" }], additionals: [opt, opt] });
  // A label "a.b" (one label holding a dot) decodes to the same text as the two labels a, b.
  const dotted = query("axb.greeter.service.mesh", "A");
  dotted[12 + 2] = ".".charCodeAt(0);
  for (const [bytes, id] of [[none, 1], [two, 2], [twoOpts, 3], [dotted, 4242]] as const) {
    const { outcome, response } = ask(bytes);
    assert.equal(response.rcode, "FORMERR", outcome.detail);
    assert.equal(response.id, id);
    assert.deepEqual(response.questions, []);
    assert.equal(outcome.malformed, undefined, "well-formed DNS, so a TCP connection may stay open");
  }
});

test("dns answer - opcodes other than QUERY get NOTIMP, opcode echoed", () => {
  for (const opcode of [1, 2, 5]) {
    const { response } = ask(query("greeter.service.mesh", "A", { opcode }));
    assert.equal(response.rcode, "NOTIMP");
    assert.equal((response.flags! >> 11) & 0xf, opcode);
    assert.deepEqual(response.answers, []);
  }
});

test("dns answer - fewer than 12 bytes, or a response instead of a query, is dropped", () => {
  for (const bytes of [Buffer.alloc(0), Buffer.from([1, 2, 3]), dnsPacket.encode({ type: "response", id: 9, questions: [{ name: "mesh", type: "SOA" }] })]) {
    const outcome = answerQuery(bytes, { view: VIEW, zone: ZONE, transport: "udp" });
    assert.equal(outcome.response, undefined);
    assert.equal(outcome.rcode, "DROPPED");
    assert.ok(outcome.malformed);
  }
});

test("dns answer - EDNS: OPT echoed when asked, absent otherwise; version above 0 gets BADVERS", () => {
  const withEdns = ask(query("greeter.service.mesh", "A", { edns: 1232 })).response;
  const opt = withEdns.additionals!.find((a) => a.type === "OPT") as OptAnswer;
  assert.equal(opt.udpPayloadSize, 1232);
  assert.equal(opt.ednsVersion, 0);
  assert.equal(ask(query("greeter.service.mesh", "A")).response.additionals!.length, 0);
  const badvers = ask(query("greeter.service.mesh", "A", { edns: 1232, ednsVersion: 1 }));
  assert.equal(badvers.outcome.rcode, "BADVERS");
  assert.equal(badvers.response.rcode, "NOERROR", "BADVERS is 16: header holds the low 4 bits");
  assert.equal((badvers.response.additionals!.find((a) => a.type === "OPT") as OptAnswer).extendedRcode, 1);
});

test("dns answer - a view that throws costs a SERVFAIL, never an exception", () => {
  const broken: RegistryView = { revision: 1, services: { get: () => { throw new Error("boom"); } } as unknown as ReadonlyMap<string, ServiceEntry> };
  const { outcome, response } = ask(query("greeter.service.mesh", "A", { id: 77 }), { view: broken });
  assert.equal(response.rcode, "SERVFAIL");
  assert.equal(response.id, 77);
  assert.match(outcome.detail ?? "", /boom/);
});

const BIG = view(3, [entry("big", Array.from({ length: 150 }, (_, i) => instance("big", `i${i}`, `10.1.${Math.floor(i / 250)}.${i % 250}`)))]);
const sixty = view(3, [entry("big", Array.from({ length: 60 }, (_, i) => instance("big", `i${i}`, `10.1.0.${i}`)))]);

test("dns answer - a UDP answer over 512 bytes without EDNS carries the records that fit, with TC set", () => {
  const { outcome, response } = ask(query("big.service.mesh", "A"), { view: sixty });
  assert.ok(response.flag_tc);
  assert.ok(outcome.truncated);
  assert.ok(response.flag_aa);
  assert.equal(response.answers!.length, 14, "(512 - 12 header - 22 question) / 32 bytes per A record");
  assert.equal(response.questions!.length, 1);
  assert.ok(outcome.response!.length <= 512);
});

test("dns answer - the client's EDNS size is the UDP limit, clamped to 512-1232", () => {
  const fits = ask(query("big.service.mesh", "A", { edns: 1232 }), { view: view(3, [entry("big", Array.from({ length: 37 }, (_, i) => instance("big", `i${i}`, `10.1.0.${i}`)))]) });
  assert.deepEqual([fits.response.flag_tc, fits.response.answers!.length], [false, 37], "(1232 - 12 - 22 - 11 OPT) / 32");
  const small = ask(query("big.service.mesh", "A", { edns: 1232 }), { view: sixty });
  assert.ok(small.response.flag_tc, "60 A records are about 1.8 KB");
  assert.ok(small.outcome.response!.length <= 1232);
  assert.ok(small.response.additionals!.some((a) => a.type === "OPT"), "a truncated EDNS response keeps its OPT");
  const tiny = ask(query("_greeter._tcp.service.mesh", "SRV", { edns: 100 }));
  assert.ok(tiny.outcome.response!.length > 100);
  assert.equal(tiny.response.flag_tc, false, "below 512 counts as 512");
  const huge = ask(query("big.service.mesh", "A", { edns: 65_000 }), { view: BIG });
  assert.ok(huge.response.flag_tc, "150 A records (about 4.4 KB) are over the 1232 cap");
  assert.ok(huge.outcome.response!.length <= 1232);
});

test("dns answer - over TCP everything is sent, with no TC", () => {
  const { response } = ask(query("big.service.mesh", "A"), { view: BIG, transport: "tcp" });
  assert.equal(response.flag_tc, false);
  assert.equal(response.answers!.length, 150);
});

test("dns answer - glue only with EDNS or over TCP, and only as far as it fits after the answers, without TC", () => {
  const six = view(3, [entry("big", Array.from({ length: 6 }, (_, i) => instance("big", `i${i}`, `10.1.0.${i}`)))]);
  const full = ask(query("_big._tcp.service.mesh", "SRV", { edns: 1232 }), { view: six }).response;
  assert.equal(full.additionals!.filter((a) => a.type === "A").length, 6);
  assert.equal(ask(query("_big._tcp.service.mesh", "SRV"), { view: six, transport: "tcp" }).response.additionals!.length, 6);
  const plain = ask(query("_big._tcp.service.mesh", "SRV"), { view: six }).response;
  assert.deepEqual([plain.flag_tc, plain.answers!.length, plain.additionals], [false, 6, []], "no EDNS over UDP: minimal, no glue");
  const { response } = ask(query("_big._tcp.service.mesh", "SRV", { edns: 512 }), { view: six });
  assert.equal(response.flag_tc, false);
  assert.equal(response.answers!.length, 6);
  const glue = response.additionals!.filter((a) => a.type === "A");
  assert.ok(glue.length > 0 && glue.length < 6, `some glue fits in 512 bytes, not all: ${glue.length}`);
  assert.deepEqual(glue.map((a) => a.name), (response.answers as SrvAnswer[]).slice(0, glue.length).map((a) => a.data.target), "glue follows the answers it belongs to");
  assert.deepEqual((response.answers as SrvAnswer[]).map((a) => a.data.target), [0, 1, 2, 3, 4, 5].map((i) => `i${i}.big.service.mesh`));
});

test("dns answer - createZone refuses a bad domain or TTL with the rule", () => {
  assert.throws(() => createZone({ domain: "Bad_Domain", ttlSeconds: 5 }), /dns domain: must be dot-separated DNS labels/);
  assert.throws(() => createZone({ domain: "", ttlSeconds: 5 }), /dns domain/);
  assert.throws(() => createZone({ domain: "mesh", ttlSeconds: -1 }), /dns ttl: must be an integer number of seconds from 0/);
  assert.throws(() => createZone({ domain: "mesh", ttlSeconds: 1.5 }), /dns ttl/);
});
