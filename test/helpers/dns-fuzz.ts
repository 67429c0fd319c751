import dnsPacket, { type OptAnswer, type Packet } from "dns-packet";
import { createRng } from "../../src/lab/workload/rng.js";

/** Names the fuzz queries ask about: in the zone, outside it, odd cases. */
const NAMES = [
  "greeter.service.mesh",
  "GREETER.service.mesh",
  "_greeter._tcp.service.mesh",
  "big.service.mesh",
  "_big._tcp.service.mesh",
  "a.greeter.service.mesh",
  "nope.service.mesh",
  "mesh",
  "ns.mesh",
  "service.mesh",
  "example.com",
  ".",
];
const TYPES = ["A", "AAAA", "SRV", "ANY", "SOA", "NS", "TXT", "MX", "AXFR", "PTR"];

/**
 * Seeded DNS fuzz input: random bytes, well-formed queries (random names,
 * types, classes, EDNS sizes and options), the same with a few bytes flipped,
 * cut short, with header counts changed, or padded with junk, and queries for
 * fresh names that fill the answer cache. The same seed gives the same packets.
 */
export function fuzzPackets(seed: number, count: number, options: { maxJunk: number }): Buffer[] {
  const random = createRng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const valid = (): Buffer => {
    const name = random() < 0.2 ? `x${int(1e9)}.service.mesh` : NAMES[int(NAMES.length)]!;
    const opt = { type: "OPT", name: ".", udpPayloadSize: int(70_000) & 0xffff, extendedRcode: 0, ednsVersion: random() < 0.9 ? 0 : int(3), flags: random() < 0.5 ? 0x8000 : 0, flag_do: false, options: random() < 0.3 ? [{ code: int(20), data: bytes(int(12)) }] : [] };
    const packet = { type: "query", id: int(65536), flags: int(2) * dnsPacket.RECURSION_DESIRED, questions: [{ name, type: TYPES[int(TYPES.length)]!, class: "IN" }], additionals: random() < 0.6 ? [opt as unknown as OptAnswer] : [] } as Packet;
    const encoded = dnsPacket.encode(packet);
    // The class is the 2 bytes after the name's root byte and the type; names here hold no zero byte.
    if (random() < 0.1) encoded.writeUInt16BE([3, 4, 255, 254, 0x8001][int(5)]!, encoded.indexOf(0, 12) + 3);
    return encoded;
  };
  const mutate = (packet: Buffer): Buffer => {
    const copy = Buffer.from(packet);
    switch (int(4)) {
      case 0:
        for (let i = 0, n = 1 + int(4); i < n; i++) copy[int(copy.length)] = int(256);
        return copy;
      case 1:
        return copy.subarray(0, int(copy.length));
      case 2:
        copy.writeUInt16BE(int(4), 4 + 2 * int(4));
        return copy;
      default:
        return Buffer.concat([copy, bytes(1 + int(64))]);
    }
  };
  return Array.from({ length: count }, () => {
    const pick = random();
    if (pick < 0.15) return bytes(int(600));
    if (pick < 0.5) return valid();
    if (pick < 0.9) return mutate(valid());
    return Buffer.concat([valid(), bytes(1 + int(options.maxJunk))]);
  });
}
