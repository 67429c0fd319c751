import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket, { type Packet } from "dns-packet";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";
import { createZone } from "../../src/dns/index.js";
import { createQueryHandler } from "../../src/dns/query-handler.js";
import { createRateLimiter, type RateLimiter } from "../../src/dns/rate-limit.js";
import { createSilentLogger } from "../../src/log/index.js";
import type { RegistryView } from "../../src/registry/index.js";

function view(revision: number, address: string, count = 1): RegistryView {
  const instances = Array.from({ length: count }, (_, i) => {
    const id = i === 0 ? "a" : `i${i}`;
    return [id, { service: "greeter", id, address: i === 0 ? address : `10.9.0.${i}`, port: 50051, zone: "", region: "", weight: 1, health: "healthy" as const, metadata: {} }] as const;
  });
  return { revision, services: new Map([["greeter", { service: { name: "greeter", protocol: "grpc" as const, lbPolicy: "round_robin" as const, metadata: {} }, instances: new Map(instances) }]]) };
}

function query(id: number, name = "greeter.service.mesh", extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: "A", class: "IN" }], ...extra } as Packet);
}

const addresses = (bytes: Buffer | undefined) => {
  assert.ok(bytes);
  const packet = dnsPacket.decode(bytes);
  return { id: packet.id, data: (packet.answers ?? []).map((a) => ("data" in a ? a.data : undefined)) };
};

const P = { address: "192.0.2.1", port: 5353 };

function handler(current: () => RegistryView, options: { cacheBytes?: number; rateLimiter?: RateLimiter; clock?: FakeClock } = {}) {
  const zone = createZone({ domain: "mesh", ttlSeconds: 5 });
  const deps = { zone: () => zone, view: current, logger: createSilentLogger(), clock: options.clock ?? createFakeClock(), cacheBytes: options.cacheBytes ?? 1 << 20, rateLimiter: () => options.rateLimiter };
  return createQueryHandler(deps);
}

test("dns query handler - the same question at the same revision gets the kept answer under the new query id", () => {
  // The view below changes content without a new revision, which a registry never does: that is how the test sees the kept answer.
  let current = view(1, "10.0.0.1");
  const { handle } = handler(() => current);
  assert.deepEqual(addresses(handle(query(1), "udp", P).response), { id: 1, data: ["10.0.0.1"] });
  current = view(1, "10.0.0.2");
  assert.deepEqual(addresses(handle(query(2), "udp", P).response), { id: 2, data: ["10.0.0.1"] }, "kept for revision 1");
  assert.deepEqual(addresses(handle(query(3), "tcp", P).response), { id: 3, data: ["10.0.0.2"] }, "kept per transport");
  current = view(2, "10.0.0.3");
  assert.deepEqual(addresses(handle(query(4), "udp", P).response), { id: 4, data: ["10.0.0.3"] }, "a new revision starts over");
});

test("dns query handler - a kept answer is not changed by the answers made from it", () => {
  const { handle } = handler(() => view(1, "10.0.0.1"));
  const first = handle(query(0x0101), "udp", P).response!;
  const copy = Buffer.from(first);
  handle(query(0x0202), "udp", P);
  assert.deepEqual(first, copy);
  assert.equal(addresses(handle(query(0x0303), "udp", P).response).id, 0x0303);
});

test("dns query handler - malformed messages are never kept: each is dropped or refused afresh", () => {
  const { handle, cacheUsage } = handler(() => view(1, "10.0.0.1"));
  const response = dnsPacket.encode({ type: "response", id: 9, questions: [{ name: "greeter.service.mesh", type: "A", class: "IN" }] } as Packet);
  for (let i = 0; i < 2; i++) assert.equal(handle(response, "udp", P).malformed, true);
  for (const bytes of [Buffer.alloc(0), Buffer.from([1]), Buffer.from([1, 2, 3])]) assert.equal(handle(bytes, "udp", P).malformed, true);
  assert.equal(cacheUsage().entries, 0);
});

test("dns query handler - a question with junk after it is answered afresh every time and never kept", () => {
  let current = view(1, "10.0.0.1");
  const { handle, cacheUsage } = handler(() => current);
  const padded = (id: number, junk: number) => Buffer.concat([query(id), Buffer.alloc(2000, junk)]);
  assert.deepEqual(addresses(handle(padded(1, 1), "udp", P).response).data, ["10.0.0.1"]);
  current = view(1, "10.0.0.2");
  assert.deepEqual(addresses(handle(padded(2, 1), "udp", P).response).data, ["10.0.0.2"], "the same padded bytes again: not kept");
  for (let i = 0; i < 2000; i++) handle(padded(i, i % 256), "udp", P);
  assert.deepEqual(cacheUsage().entries, 0);
});

test("dns query handler - the cache stays within its byte budget, and the least recently used answer goes first", () => {
  let current = view(1, "10.0.0.1");
  const { handle, cacheUsage } = handler(() => current, { cacheBytes: 16 * 1024 });
  const ask = (name: string) => addresses(handle(query(1, name), "udp", P).response).data;
  ask("a.greeter.service.mesh");
  for (let i = 0; i < 200; i++) {
    ask(`n${i}.service.mesh`);
    ask("a.greeter.service.mesh");
    assert.ok(cacheUsage().bytes <= 16 * 1024, `${cacheUsage().bytes} bytes after ${i} names`);
  }
  const { entries } = cacheUsage();
  assert.ok(entries > 5 && entries < 200, `${entries} entries`);
  current = view(1, "10.0.0.2");
  assert.deepEqual(ask("a.greeter.service.mesh"), ["10.0.0.1"], "used all along: still kept");
  assert.deepEqual(ask("greeter.service.mesh"), ["10.0.0.2"]);
});

test("dns query handler - queries that differ only in EDNS options (a client cookie) share one kept answer", () => {
  const { handle, cacheUsage } = handler(() => view(1, "10.0.0.1"));
  for (let i = 0; i < 50; i++) {
    const cookie = { code: 10, data: Buffer.from(`cookie${String(i).padStart(2, "0")}`) };
    const bytes = query(i, "greeter.service.mesh", { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: [cookie] }] } as Partial<Packet>);
    assert.deepEqual(addresses(handle(bytes, "udp", P).response).data, ["10.0.0.1"]);
  }
  assert.equal(cacheUsage().entries, 1);
});

test("dns query handler - successive answers rotate: each record comes first in turn, kept or not", () => {
  const { handle } = handler(() => view(1, "10.0.0.1", 4));
  const firsts = Array.from({ length: 8 }, (_, i) => addresses(handle(query(i), "udp", P).response).data[0]);
  assert.deepEqual(firsts, ["10.0.0.1", "10.9.0.1", "10.9.0.2", "10.9.0.3", "10.0.0.1", "10.9.0.1", "10.9.0.2", "10.9.0.3"]);
  const padded = (id: number) => Buffer.concat([query(id), Buffer.from([0])]);
  const unkept = new Set(Array.from({ length: 4 }, (_, i) => addresses(handle(padded(i), "udp", P).response).data[0]));
  assert.equal(unkept.size, 4);
});

test("dns query handler - over the rate, UDP responses to a prefix are dropped and every 2nd goes out empty with TC; TCP and other prefixes are not limited", () => {
  const clock = createFakeClock(1_000_000);
  const rateLimiter = createRateLimiter({ responsesPerSecond: 5, slip: 2 }, clock);
  const { handle } = handler(() => view(1, "10.0.0.1"), { clock, rateLimiter });
  const send = (address: string, transport: "udp" | "tcp" = "udp") => handle(query(7), transport, { address, port: 1000 }).response;
  for (let i = 0; i < 5; i++) assert.deepEqual(addresses(send("198.51.100.7")).data, ["10.0.0.1"]);
  const over = Array.from({ length: 6 }, (_, i) => send(`198.51.100.${i}`));
  assert.deepEqual(over.map((r) => (r ? dnsPacket.decode(r).flag_tc : "dropped")), ["dropped", true, "dropped", true, "dropped", true]);
  assert.deepEqual(dnsPacket.decode(over[1]!).answers, [], "a slip response carries no records");
  assert.deepEqual(addresses(send("198.51.101.7")).data, ["10.0.0.1"], "another /24");
  assert.deepEqual(addresses(send("198.51.100.7", "tcp")).data, ["10.0.0.1"], "TCP");
  clock.advance(1000);
  assert.deepEqual(addresses(send("198.51.100.7")).data, ["10.0.0.1"], "a second later the bucket is full again");
});
