import type { Answer, OptAnswer } from "dns-packet";

/** Without EDNS a UDP answer may be at most 512 bytes (RFC 1035). */
export const MIN_UDP_PAYLOAD = 512;
/**
 * The most we send over UDP whatever the client advertises, and what we
 * advertise: the DNS Flag Day 2020 size, which avoids IP fragmentation and
 * bounds how far a spoofed query can be amplified (see the README's DNS section).
 */
export const MAX_UDP_PAYLOAD = 1232;
/** A DNS message over TCP carries a 2-byte length, so this is its largest size. */
export const MAX_TCP_MESSAGE = 65_535;

/** What a query's additional section says about EDNS (RFC 6891). */
export type EdnsRequest =
  | { readonly kind: "none" }
  /** More than one OPT record: the query is malformed (FORMERR). */
  | { readonly kind: "invalid"; readonly reason: string }
  | { readonly kind: "present"; readonly version: number; readonly udpPayloadSize: number };

/** Finds the query's OPT record, if any; more than one, or one not owned by the root, is invalid. */
export function readEdns(additionals: readonly Answer[] | undefined): EdnsRequest {
  const opts = (additionals ?? []).filter((a): a is OptAnswer => a.type === "OPT");
  if (opts.length === 0) return { kind: "none" };
  if (opts.length > 1) return { kind: "invalid", reason: `${opts.length} OPT records; at most one is allowed` };
  const opt = opts[0]!;
  if (opt.name !== ".") return { kind: "invalid", reason: "OPT record not owned by the root name" };
  return { kind: "present", version: opt.ednsVersion, udpPayloadSize: opt.udpPayloadSize };
}

/** The largest UDP response to send: the advertised EDNS size clamped to 512–1232, or 512 without EDNS (undefined). */
export function udpLimit(udpPayloadSize: number | undefined): number {
  if (udpPayloadSize === undefined) return MIN_UDP_PAYLOAD;
  return Math.min(Math.max(udpPayloadSize, MIN_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
}

/**
 * The OPT record of a response to an EDNS query. `extendedRcode` carries the
 * upper 8 bits of a 12-bit RCODE (BADVERS = 16 → 1).
 */
export function responseOpt(extendedRcode = 0): OptAnswer {
  return { type: "OPT", name: ".", udpPayloadSize: MAX_UDP_PAYLOAD, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}
