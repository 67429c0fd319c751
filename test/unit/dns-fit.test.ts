import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket, { type DecodedPacket, type OptAnswer, type Packet, type SrvAnswer } from "dns-packet";
import { answerQuery, createZone, type DnsTransport } from "../../src/dns/index.js";
import type { Instance, RegistryView } from "../../src/registry/index.js";

const ZONE = createZone({ domain: "mesh", ttlSeconds: 5 });

function big(count: number): RegistryView {
  const instances = new Map<string, Instance>();
  for (let i = 0; i < count; i++) {
    instances.set(`i${i}`, { service: "big", id: `i${i}`, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1024 + i, zone: "", region: "", weight: 1, health: "healthy", metadata: {} });
  }
  return { revision: 1, services: new Map([["big", { service: { name: "big", protocol: "grpc", lbPolicy: "round_robin", metadata: {} }, instances }]]) };
}

function query(name: string, type: "A" | "SRV", edns?: number): Buffer {
  const additionals: OptAnswer[] = edns === undefined ? [] : [{ type: "OPT", name: ".", udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  return dnsPacket.encode({ type: "query", id: 99, questions: [{ name, type, class: "IN" }], additionals });
}

function ask(bytes: Buffer, view: RegistryView, transport: DnsTransport, rotation = 0) {
  const outcome = answerQuery(bytes, { zone: ZONE, view, transport, rotation });
  assert.ok(outcome.response);
  return { outcome, packet: dnsPacket.decode(outcome.response) as DecodedPacket & { flag_tc: boolean } };
}

const targets = (packet: DecodedPacket) => (packet.answers as SrvAnswer[]).map((a) => a.data.target);

test("dns fit - with room to spare and rotation 0, the response is dns-packet's own encoding of the whole answer", () => {
  const view = big(5);
  for (const [bytes, transport] of [[query("_big._tcp.service.mesh", "SRV", 1232), "udp"], [query("big.service.mesh", "A"), "tcp"], [query("nope.service.mesh", "A", 1232), "udp"]] as const) {
    const { outcome, packet } = ask(bytes, view, transport);
    const again = dnsPacket.encode({ ...packet, type: "response" } as Packet);
    assert.deepEqual(outcome.response, again);
  }
});

test("dns fit - 2,000 SRV instances over TCP: as many records as fit in 65,535 bytes, without TC, and rotation reaches every instance", () => {
  const view = big(2000);
  const bytes = query("_big._tcp.service.mesh", "SRV");
  const first = ask(bytes, view, "tcp", 0);
  assert.equal(first.packet.flag_tc, false);
  assert.ok(first.packet.answers!.length > 1000, `${first.packet.answers!.length} records`);
  assert.ok(first.outcome.response!.length <= 65_535);
  const seen = new Set<string>();
  let rotation = 0;
  while (seen.size < 2000 && rotation < 2000) {
    const { packet } = ask(bytes, view, "tcp", rotation);
    targets(packet).forEach((t) => seen.add(t));
    rotation += packet.answers!.length;
  }
  assert.equal(seen.size, 2000, "two rotations further on, the rest of the instances");
  assert.notDeepEqual(targets(ask(bytes, view, "tcp", 1).packet), targets(first.packet));
});

test("dns fit - 3,000 A instances over TCP get as many records as fit; over UDP the ones that fit in the limit, with TC", () => {
  const view = big(3000);
  const tcp = ask(query("big.service.mesh", "A"), view, "tcp", 7).packet;
  assert.equal(tcp.flag_tc, false);
  assert.ok(tcp.answers!.length >= 2000, `${tcp.answers!.length} records`);
  assert.equal(tcp.answers![0]!.type === "A" && tcp.answers![0].data, "10.0.0.7", "the 8th instance first at rotation 7");
  const udp = ask(query("big.service.mesh", "A", 1232), view, "udp", 3);
  assert.equal(udp.packet.flag_tc, true);
  assert.equal(udp.packet.answers!.length, 37);
  assert.deepEqual(udp.packet.additionals!.map((a) => a.type), ["OPT"]);
  assert.notDeepEqual(ask(query("big.service.mesh", "A", 1232), view, "udp", 4).packet.answers, udp.packet.answers);
});

test("dns fit - an A query is amplified at most 1232 / its own size, even with EDNS 4096 and many instances", () => {
  for (const count of [60, 120, 1000]) {
    const bytes = query("big.service.mesh", "A", 4096);
    const { outcome } = ask(bytes, big(count), "udp");
    const ratio = outcome.response!.length / bytes.length;
    assert.ok(ratio <= 1232 / bytes.length, `${count} instances: ${outcome.response!.length} / ${bytes.length} bytes = ${ratio.toFixed(1)}x`);
  }
});
