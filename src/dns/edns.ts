import type { Answer, OptAnswer } from "dns-packet";

/** Without EDNS a UDP answer may be at most 512 bytes (RFC 1035). */
export const MIN_UDP_PAYLOAD = 512;
/** The most we send over UDP whatever the client advertises; also what we advertise. */
export const MAX_UDP_PAYLOAD = 4096;
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

/** The largest UDP response this client can take: its advertised size clamped to 512–4096, or 512 without EDNS. */
export function udpLimit(edns: EdnsRequest): number {
  if (edns.kind !== "present") return MIN_UDP_PAYLOAD;
  return Math.min(Math.max(edns.udpPayloadSize, MIN_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
}

/**
 * The OPT record of a response to an EDNS query. `extendedRcode` carries the
 * upper 8 bits of a 12-bit RCODE (BADVERS = 16 → 1).
 */
export function responseOpt(extendedRcode = 0): OptAnswer {
  return { type: "OPT", name: ".", udpPayloadSize: MAX_UDP_PAYLOAD, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}
