import assert from "node:assert/strict";
import { test } from "node:test";
import dnsPacket, { type Packet } from "dns-packet";
import { createFrameReader, frame } from "../../src/dns/tcp-framing.js";

test("dns tcp framing - messages split across chunks and several per chunk come out whole and in order", () => {
  const reader = createFrameReader(4096);
  const wire = Buffer.concat([frame(Buffer.from("first")), frame(Buffer.from("second")), frame(Buffer.from("third"))]);
  const out: string[] = [];
  for (const chunk of [wire.subarray(0, 1), wire.subarray(1, 9), wire.subarray(9)]) {
    reader.push(chunk);
    for (let m = reader.next(); m !== undefined; m = reader.next()) {
      assert.ok(Buffer.isBuffer(m));
      out.push(m.toString());
    }
  }
  assert.deepEqual(out, ["first", "second", "third"]);
  assert.equal(reader.buffered(), 0);
});

test("dns tcp framing - a length prefix over the limit is reported before its bytes arrive", () => {
  const reader = createFrameReader(512);
  reader.push(Buffer.from([0xff, 0xff, 0x00]));
  assert.deepEqual(reader.next(), { tooLarge: 65_535 });
  const ok = createFrameReader(512);
  ok.push(Buffer.from([0x02, 0x00]));
  assert.equal(ok.next(), undefined, "512 is allowed; it waits for the bytes");
});

test("dns tcp framing - frame prefixes the big-endian length", () => {
  assert.deepEqual([...frame(Buffer.alloc(258))].slice(0, 2), [1, 2]);
});

test("dns tcp framing - the same frames as dns-packet's stream encoding, both ways", () => {
  const packets: Packet[] = [1, 2, 3].map((id) => ({ type: "query", id, questions: [{ name: `s${id}.service.mesh`, type: "SRV" }] }));
  for (const packet of packets) assert.deepEqual(frame(dnsPacket.encode(packet)), dnsPacket.streamEncode(packet));
  const wire = Buffer.concat(packets.map((p) => dnsPacket.streamEncode(p)));
  const reader = createFrameReader(512);
  const ids: number[] = [];
  for (let at = 0; at < wire.length; at += 7) {
    reader.push(wire.subarray(at, at + 7));
    for (let m = reader.next(); m !== undefined; m = reader.next()) {
      assert.ok(Buffer.isBuffer(m));
      ids.push(dnsPacket.decode(m).id!);
    }
  }
  assert.deepEqual(ids, [1, 2, 3]);
});
