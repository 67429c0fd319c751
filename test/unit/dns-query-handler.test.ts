import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket, { type Packet } from "dns-packet";
import { createFakeClock } from "../../src/clock/index.js";
import { createZone } from "../../src/dns/index.js";
import { createQueryHandler } from "../../src/dns/query-handler.js";
import { createSilentLogger } from "../../src/log/index.js";
import type { RegistryView } from "../../src/registry/index.js";

function view(revision: number, address: string): RegistryView {
  const instance = { service: "greeter", id: "a", address, port: 50051, zone: "", region: "", weight: 1, health: "healthy" as const, metadata: {} };
  return { revision, services: new Map([["greeter", { service: { name: "greeter", protocol: "grpc" as const, lbPolicy: "round_robin" as const, metadata: {} }, instances: new Map([["a", instance]]) }]]) };
}

function query(id: number, name = "greeter.service.mesh"): Buffer {
  return dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: "A", class: "IN" }] } as Packet);
}

const addresses = (bytes: Buffer | undefined) => {
  assert.ok(bytes);
  const packet = dnsPacket.decode(bytes);
  return { id: packet.id, data: (packet.answers ?? []).map((a) => ("data" in a ? a.data : undefined)) };
};

function handler(current: () => RegistryView) {
  const zone = createZone({ domain: "mesh", ttlSeconds: 5 });
  return createQueryHandler({ zone: () => zone, view: current, logger: createSilentLogger(), clock: createFakeClock() });
}

test("dns query handler - the same question at the same revision gets the kept answer under the new query id", () => {
  // The view below changes content without a new revision, which a registry never does: that is how the test sees the kept answer.
  let current = view(1, "10.0.0.1");
  const handle = handler(() => current);
  assert.deepEqual(addresses(handle(query(1), "udp", "p").response), { id: 1, data: ["10.0.0.1"] });
  current = view(1, "10.0.0.2");
  assert.deepEqual(addresses(handle(query(2), "udp", "p").response), { id: 2, data: ["10.0.0.1"] }, "kept for revision 1");
  assert.deepEqual(addresses(handle(query(3), "tcp", "p").response), { id: 3, data: ["10.0.0.2"] }, "kept per transport");
  current = view(2, "10.0.0.3");
  assert.deepEqual(addresses(handle(query(4), "udp", "p").response), { id: 4, data: ["10.0.0.3"] }, "a new revision starts over");
});

test("dns query handler - a kept answer is not changed by the answers made from it", () => {
  const handle = handler(() => view(1, "10.0.0.1"));
  const first = handle(query(0x0101), "udp", "p").response!;
  const copy = Buffer.from(first);
  handle(query(0x0202), "udp", "p");
  assert.deepEqual(first, copy);
  assert.equal(addresses(handle(query(0x0303), "udp", "p").response).id, 0x0303);
});

test("dns query handler - malformed messages are never kept: each is dropped or refused afresh", () => {
  const handle = handler(() => view(1, "10.0.0.1"));
  const response = dnsPacket.encode({ type: "response", id: 9, questions: [{ name: "greeter.service.mesh", type: "A", class: "IN" }] } as Packet);
  for (let i = 0; i < 2; i++) assert.equal(handle(response, "udp", "p").malformed, true);
  for (const bytes of [Buffer.alloc(0), Buffer.from([1]), Buffer.from([1, 2, 3])]) assert.equal(handle(bytes, "udp", "p").malformed, true);
});
