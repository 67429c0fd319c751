import { isIP } from "node:net";

/** What an instance address may be, beyond being an IP literal; the tail of the message for one that is not. */
export const USABLE_ADDRESS_RULE =
  "a unicast IPv4 or IPv6 address clients can connect to (not 0.0.0.0, ::, 255.255.255.255 or multicast; no %zone; IPv4 as a.b.c.d, not ::ffff:a.b.c.d)";

/**
 * Why clients (xDS endpoints, DNS A/AAAA answers) could not use `address`,
 * as a phrase that follows it ("is the broadcast address"); undefined when
 * they can, or when it is no IP literal at all (reported as such elsewhere).
 * Node's isIP accepts every address refused here.
 */
export function unusableAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return unusableIpv4(address);
  if (family !== 6) return undefined;
  const zone = address.indexOf("%");
  if (zone !== -1) return `has a zone (${address.slice(zone)}), which names a network interface of one host only`;
  // The URL parser writes IPv6 in its shortest lowercase form: `::ffff:1.2.3.4` and `0::ffff:102:304` both become `::ffff:102:304`.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  if (canonical === "::") return "is the unspecified address, which no client can connect to";
  if (canonical.startsWith("ff")) return "is a multicast address";
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) return `is an IPv4-mapped IPv6 address; register ${ipv4Of(mapped[1]!, mapped[2]!)} instead`;
  return undefined;
}

function unusableIpv4(address: string): string | undefined {
  if (address === "0.0.0.0") return "is the unspecified address, which no client can connect to";
  if (address === "255.255.255.255") return "is the broadcast address";
  const first = Number(address.split(".")[0]);
  if (first >= 224 && first <= 239) return "is a multicast address";
  return undefined;
}

function ipv4Of(high: string, low: string): string {
  const a = Number.parseInt(high, 16);
  const b = Number.parseInt(low, 16);
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}
