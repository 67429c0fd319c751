import { isIP } from "node:net";
import type { Clock } from "../clock/index.js";
import { SteadyError } from "../errors/index.js";

/**
 * Response rate limiting for UDP (after BIND's RRL): a spoofed query makes
 * us send bytes to its victim, so each source prefix gets a token bucket.
 * Over its rate, responses are dropped, except every `slip`-th one, which is
 * sent empty with TC: a real client behind that prefix then asks over TCP,
 * which a spoofed source cannot do.
 */
export interface RateLimitOptions {
  /** Responses per second per source prefix; also the burst (one second's worth). */
  readonly responsesPerSecond: number;
  /** Every slip-th response over the rate goes out as an empty TC response; 0 never, 1 every one. */
  readonly slip: number;
  /** IPv4 sources are grouped by this prefix length; default 24. */
  readonly ipv4PrefixLength?: number;
  /** IPv6 sources are grouped by this prefix length; default 56. */
  readonly ipv6PrefixLength?: number;
  /** Prefixes tracked at once; past it the least recently seen is forgotten (its bucket starts full again). */
  readonly maxPrefixes?: number;
}

/** What to do with one response. */
export type RateDecision = "send" | "slip" | "drop";

export interface RateLimiter {
  /** Takes one token from `address`'s prefix; says whether its response may go. */
  decide(address: string): RateDecision;
  /** Prefixes currently tracked. */
  size(): number;
}

export const RATE_LIMIT_DEFAULTS = { responsesPerSecond: 200, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56, maxPrefixes: 10_000 } as const;

interface Bucket {
  tokens: number;
  at: number;
  overRate: number;
}

/** Throws SteadyError `invalid-argument` naming the field when an option is out of range. */
export function createRateLimiter(options: RateLimitOptions, clock: Clock): RateLimiter {
  const settings = { ...RATE_LIMIT_DEFAULTS, ...options };
  checkRange("responsesPerSecond", settings.responsesPerSecond, 1, 1_000_000);
  checkRange("slip", settings.slip, 0, 10);
  checkRange("ipv4PrefixLength", settings.ipv4PrefixLength, 8, 32);
  checkRange("ipv6PrefixLength", settings.ipv6PrefixLength, 16, 128);
  checkRange("maxPrefixes", settings.maxPrefixes, 1, 10_000_000);
  const buckets = new Map<string, Bucket>();
  const rate = settings.responsesPerSecond;
  return {
    decide(address) {
      const key = sourcePrefix(address, settings.ipv4PrefixLength, settings.ipv6PrefixLength);
      const now = clock.now();
      let bucket = buckets.get(key);
      if (bucket) {
        buckets.delete(key);
        bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) * rate) / 1000);
        bucket.at = now;
      } else {
        bucket = { tokens: rate, at: now, overRate: 0 };
        if (buckets.size >= settings.maxPrefixes) buckets.delete(buckets.keys().next().value!);
      }
      // Re-inserted at the end: the Map's first key is always the least recently seen prefix.
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return "send";
      }
      bucket.overRate += 1;
      return settings.slip > 0 && bucket.overRate % settings.slip === 0 ? "slip" : "drop";
    },
    size: () => buckets.size,
  };
}

function checkRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SteadyError("invalid-argument", `dns rate limit ${field}: must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/**
 * The source prefix an address counts against, as text: `10.1.2.0/24`,
 * `2001:db8:0:100::/56`. IPv4-mapped IPv6 addresses count as IPv4.
 * Anything that is not an IP address counts as itself.
 */
export function sourcePrefix(address: string, ipv4Bits: number, ipv6Bits: number): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1]! : address;
  const family = isIP(ip);
  if (family === 4) return `${maskBytes(ip.split(".").map(Number), ipv4Bits).join(".")}/${ipv4Bits}`;
  if (family !== 6) return ip;
  const words = maskBytes(ipv6Bytes(ip), ipv6Bits);
  const groups = Array.from({ length: 8 }, (_, i) => ((words[2 * i]! << 8) | words[2 * i + 1]!).toString(16));
  return `${groups.join(":")}/${ipv6Bits}`;
}

function maskBytes(bytes: readonly number[], bits: number): number[] {
  return bytes.map((byte, i) => {
    const keep = Math.min(Math.max(bits - i * 8, 0), 8);
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}

/** The 16 bytes of a valid IPv6 address in text form (with `::`, a zone index, or a dotted IPv4 tail). */
function ipv6Bytes(address: string): number[] {
  const plain = address.replace(/%.*$/, "");
  const [head = "", tail] = plain.split("::");
  const words = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((word) => {
          if (!word.includes(".")) return [parseInt(word, 16)];
          const [a, b, c, d] = word.split(".").map(Number);
          return [(a! << 8) | b!, (c! << 8) | d!];
        });
  const front = words(head);
  const back = tail === undefined ? [] : words(tail);
  const all = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  return all.flatMap((word) => [word >> 8, word & 0xff]);
}
