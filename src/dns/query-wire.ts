/**
 * Reads the few parts of a query's wire form that answering needs before (or
 * instead of) a full decode: the question's exact bytes, and whether the
 * query is a plain question whose answer may be kept in the answer cache.
 * No I/O and no dns-packet: a cache hit must not pay for a decode.
 */

/** The header is 12 bytes; the question starts right after it. */
export const HEADER_BYTES = 12;
/** A name is at most 255 bytes on the wire (RFC 1035 §3.1). */
const MAX_NAME_BYTES = 255;
/** The OPT pseudo-record's type (RFC 6891). */
const OPT_TYPE = 41;
/** Fixed part of a resource record after its name: type, class, TTL, RDLENGTH. */
const RR_FIXED_BYTES = 10;
/**
 * The EDNS options dns-packet decodes field by field, and the least data each
 * needs: with less, its decoder reads past the option (or the message) and
 * throws. Every other option is kept as opaque bytes.
 */
const OPTION_MIN_BYTES: ReadonlyMap<number, (length: number) => boolean> = new Map([
  [8, (length: number) => length >= 4], // CLIENT_SUBNET: family, source and scope prefix lengths
  [11, (length: number) => length === 0 || length >= 2], // TCP keepalive: empty, or a 2-byte timeout
  [14, (length: number) => length % 2 === 0], // KEY-TAG: 2-byte tags
]);

/** The least bytes a question takes (the root name, type, class) and a record (root name, type, class, TTL, RDLENGTH). */
const MIN_QUESTION_BYTES = 5;
const MIN_RECORD_BYTES = 1 + RR_FIXED_BYTES;

/**
 * Whether the header's four counts could fit in the message at all. dns-packet
 * allocates an array per count before reading, so 12 bytes claiming 65,535 of
 * each would cost far more than they are worth; such a message is malformed
 * without a decode.
 */
export function countsFit(query: Buffer): boolean {
  const records = query.readUInt16BE(6) + query.readUInt16BE(8) + query.readUInt16BE(10);
  return query.readUInt16BE(4) * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES <= query.length - HEADER_BYTES;
}

/** The question section of a query holding exactly one question, as its bytes. */
export interface RawQuestion {
  /** The question's bytes (name, type, class), exactly as asked. */
  readonly bytes: Buffer;
  /** The name's bytes alone (labels and the root byte). */
  readonly name: Buffer;
  readonly qtype: number;
  readonly qclass: number;
  /** Offset just past the question. */
  readonly end: number;
}

/**
 * The first question, if it is written in plain labels (no compression
 * pointer, at most 255 bytes) and wholly inside the message; else undefined.
 */
export function readRawQuestion(query: Buffer): RawQuestion | undefined {
  let offset = HEADER_BYTES;
  for (;;) {
    if (offset >= query.length || offset - HEADER_BYTES >= MAX_NAME_BYTES) return undefined;
    const length = query[offset]!;
    if (length === 0) break;
    // 0xC0 is a compression pointer, 0x40 and 0x80 are reserved label types: none of them is a plain label.
    if (length > 63) return undefined;
    offset += 1 + length;
  }
  const nameEnd = offset + 1;
  const end = nameEnd + 4;
  if (end > query.length || nameEnd - HEADER_BYTES > MAX_NAME_BYTES) return undefined;
  return {
    bytes: query.subarray(HEADER_BYTES, end),
    name: query.subarray(HEADER_BYTES, nameEnd),
    qtype: query.readUInt16BE(nameEnd),
    qclass: query.readUInt16BE(nameEnd + 2),
    end,
  };
}

/** What a plain query carries besides its question: the parts its answer depends on. */
export interface PlainQuery {
  /**
   * Equal for two queries exactly when their answers are equal but for the
   * id: RD, whether EDNS is present and its version, and the question's
   * bytes. EDNS options and the advertised size are not in it: the answer
   * ignores the options, and the size only decides how much of it is sent.
   */
  readonly key: string;
  /** The advertised UDP payload size; undefined without EDNS. */
  readonly udpPayloadSize: number | undefined;
}

/**
 * The query's cache key if it is a plain question: QR clear, opcode QUERY,
 * one question in plain labels, no answer or authority records, and after
 * the question nothing but one well-formed OPT record ending exactly at the
 * end of the message. Anything else (junk after the question, a second
 * record, a malformed option) is answered afresh every time, so no client can
 * grow the cache with bytes the answer does not depend on.
 */
export function plainQuery(query: Buffer): PlainQuery | undefined {
  if (query.length < HEADER_BYTES) return undefined;
  const flags = query.readUInt16BE(2);
  // QR (bit 15) and the opcode (bits 11-14) must be zero.
  if ((flags & 0xf800) !== 0) return undefined;
  if (query.readUInt16BE(4) !== 1 || query.readUInt16BE(6) !== 0 || query.readUInt16BE(8) !== 0) return undefined;
  const additionals = query.readUInt16BE(10);
  if (additionals > 1) return undefined;
  const question = readRawQuestion(query);
  if (!question) return undefined;
  const rd = (flags & 0x0100) !== 0 ? "r" : "-";
  if (additionals === 0) {
    return question.end === query.length ? { key: `${rd}n${question.bytes.toString("latin1")}`, udpPayloadSize: undefined } : undefined;
  }
  const opt = readOpt(query, question.end);
  if (!opt) return undefined;
  return { key: `${rd}e${opt.version}:${question.bytes.toString("latin1")}`, udpPayloadSize: opt.udpPayloadSize };
}

/** An OPT record owned by the root that starts at `offset` and ends at the end of `query`, with well-formed options. */
function readOpt(query: Buffer, offset: number): { udpPayloadSize: number; version: number } | undefined {
  const rdata = offset + 1 + RR_FIXED_BYTES;
  if (rdata > query.length || query[offset] !== 0 || query.readUInt16BE(offset + 1) !== OPT_TYPE) return undefined;
  if (rdata + query.readUInt16BE(offset + 9) !== query.length) return undefined;
  for (let at = rdata; at < query.length; ) {
    if (at + 4 > query.length) return undefined;
    const code = query.readUInt16BE(at);
    const length = query.readUInt16BE(at + 2);
    at += 4 + length;
    if (at > query.length || !(OPTION_MIN_BYTES.get(code)?.(length) ?? true)) return undefined;
  }
  return { udpPayloadSize: query.readUInt16BE(offset + 3), version: query[offset + 6]! };
}
