import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket, { type OptAnswer, type Packet } from "dns-packet";
import { countsFit, plainQuery, readRawQuestion } from "../../src/dns/query-wire.js";

/** An OPT record; `options` as raw code and data, which dns-packet's types do not name for every code. */
function opt(udpPayloadSize = 1400, options: { code: number; data: Buffer }[] = []): OptAnswer {
  return { type: "OPT", name: ".", udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options } as unknown as OptAnswer;
}
const OPT = opt();

function query(extra: Partial<Packet> = {}, flags = 0): Buffer {
  return dnsPacket.encode({ type: "query", id: 1, flags, questions: [{ name: "Greeter.service.mesh", type: "A", class: "IN" }], ...extra } as Packet);
}

test("dns query wire - a plain question is keyed by RD, EDNS version and the question's bytes, not by id, size or options", () => {
  const plain = plainQuery(query());
  assert.ok(plain);
  assert.equal(plain.udpPayloadSize, undefined);
  const withOpt = plainQuery(query({ additionals: [OPT] }));
  assert.equal(withOpt?.udpPayloadSize, 1400);
  const cookie = plainQuery(query({ additionals: [opt(4096, [{ code: 10, data: Buffer.alloc(8, 7) }])] }));
  assert.equal(cookie?.key, withOpt?.key);
  assert.notEqual(withOpt?.key, plain.key);
  assert.notEqual(plainQuery(query({}, dnsPacket.RECURSION_DESIRED))?.key, plain.key);
  const other = Buffer.from(query());
  other.writeUInt16BE(0xbeef, 0);
  assert.equal(plainQuery(other)?.key, plain.key);
  const upper = plainQuery(dnsPacket.encode({ type: "query", id: 1, questions: [{ name: "GREETER.service.mesh", type: "A" }] }));
  assert.notEqual(upper?.key, plain.key, "the question's case is echoed, so it is part of the key");
});

test("dns query wire - anything but one plain question and at most one well-formed OPT is not plain", () => {
  const base = query();
  const cases: [string, Buffer][] = [
    ["junk after the question", Buffer.concat([base, Buffer.from([0])])],
    ["junk after the OPT", Buffer.concat([query({ additionals: [OPT] }), Buffer.from([1, 2])])],
    ["a record that is not OPT", query({ additionals: [{ type: "A", name: "x", data: "1.2.3.4" }] })],
    ["two OPT records", query({ additionals: [OPT, OPT] })],
    ["an answer record", query({ answers: [{ type: "A", name: "x", data: "1.2.3.4" }] })],
    ["two questions", dnsPacket.encode({ type: "query", id: 1, questions: [{ name: "a", type: "A" }, { name: "b", type: "A" }] })],
    ["a response", dnsPacket.encode({ type: "response", id: 1, questions: [{ name: "a", type: "A" }] })],
    ["opcode 2", query({}, 2 << 11)],
    ["a client-subnet option too short to decode", query({ additionals: [opt(1400, [{ code: 8, data: Buffer.from([0, 1]) }])] })],
    ["an option running past the record", (() => { const b = query({ additionals: [opt(1400, [{ code: 10, data: Buffer.alloc(8) }])] }); b.writeUInt16BE(20, b.length - 10); return b; })()],
    ["cut inside the question", base.subarray(0, base.length - 1)],
    ["a compression pointer", Buffer.concat([base.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])])],
    ["shorter than a header", Buffer.from([1, 2, 3])],
  ];
  for (const [what, bytes] of cases) assert.equal(plainQuery(bytes), undefined, what);
});

test("dns query wire - the raw question is the name, type and class exactly as asked", () => {
  const bytes = query();
  bytes.writeUInt16BE(3, bytes.length - 2);
  const raw = readRawQuestion(bytes);
  assert.ok(raw);
  assert.deepEqual([raw.qtype, raw.qclass, raw.end, raw.bytes.length], [1, 3, bytes.length, bytes.length - 12]);
  assert.equal(raw.name.toString("latin1"), "\x07Greeter\x07service\x04mesh\x00");
  const long = Buffer.concat([bytes.subarray(0, 12), Buffer.from(Array.from({ length: 5 }, () => [63, ...Array<number>(63).fill(97)]).flat()), Buffer.from([0, 0, 1, 0, 1])]);
  assert.equal(readRawQuestion(long), undefined, "a name over 255 bytes");
});

test("dns query wire - header counts that the message could not hold are caught before any decode", () => {
  const header = Buffer.from([0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(countsFit(header), false);
  assert.equal(countsFit(query()), true);
  assert.equal(countsFit(query({ additionals: [OPT] })), true);
  const more = query({ additionals: [OPT] });
  more.writeUInt16BE(4, 10);
  assert.equal(countsFit(more), false, "37 bytes after the header cannot hold a question and 4 records (5 + 4 × 11 bytes at the least)");
});
