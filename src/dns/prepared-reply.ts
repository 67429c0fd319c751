import dnsPacket, { type Answer } from "dns-packet";
import { HEADER_BYTES } from "./query-wire.js";

/**
 * Records encoded once, back to back, in groups. dns-packet never compresses
 * names, so each record's bytes stand alone and any run of groups can be
 * copied into a message as is.
 */
export interface RecordRun {
  readonly bytes: Buffer;
  /** `ends[i]`: bytes of groups 0..i-1 (`ends[0]` = 0; one entry more than there are groups). */
  readonly ends: Uint32Array;
  /** `records[i]`: records in groups 0..i-1, the same way. */
  readonly records: Uint32Array;
}

/**
 * A response with every part encoded, before it is fitted to a limit: the
 * answer cache keeps these, and each query only picks and copies bytes.
 */
export interface PreparedReply {
  /** The response's header flags (opcode, AA, RD, RCODE), TC clear. */
  readonly flags: number;
  /** The question's bytes as asked; empty when the response carries none. */
  readonly question: Buffer;
  /** One group per answer record: the part rotated and cut to fit. */
  readonly answers: RecordRun;
  /** Group i holds the additional records for answer i (an SRV or NS target's addresses); may be empty. */
  readonly glue: RecordRun;
  /** The authority section (the SOA of a negative answer), sent whole or not at all. */
  readonly authorities: RecordRun;
  /** The OPT record, when the query had one; empty otherwise. */
  readonly opt: Buffer;
}

/** How one response is cut from a PreparedReply. */
export interface FitOptions {
  /** The query's id, written into the response. */
  readonly id: number;
  /** Largest message in bytes: the client's UDP size, or 65,535 over TCP. */
  readonly limit: number;
  /** Which answer record comes first; successive values spread load over all records. */
  readonly rotation: number;
  /**
   * Whether TC is set when not every answer record fits: true over UDP (the
   * client asks again over TCP); false over TCP, where TC would be a dead end.
   */
  readonly signalCut: boolean;
  /** Send header, question and OPT only, with TC (a rate-limited "slip" response). */
  readonly truncateAll?: boolean;
}

/** A fitted response. */
export interface FittedReply {
  readonly bytes: Buffer;
  /** TC was set. */
  readonly truncated: boolean;
}

const EMPTY_RUN: RecordRun = { bytes: Buffer.alloc(0), ends: new Uint32Array(1), records: new Uint32Array(1) };

/** Encodes `groups` (each a list of records) into a RecordRun. */
export function encodeRun(groups: readonly (readonly Answer[])[]): RecordRun {
  const flat = groups.flat();
  if (flat.length === 0 && groups.length === 0) return EMPTY_RUN;
  const bytes = dnsPacket.encode({ answers: flat }).subarray(HEADER_BYTES);
  const ends = new Uint32Array(groups.length + 1);
  const records = new Uint32Array(groups.length + 1);
  groups.forEach((group, i) => {
    const length = group.reduce((sum, record) => sum + dnsPacket.encodingLength({ answers: [record] }) - HEADER_BYTES, 0);
    ends[i + 1] = ends[i]! + length;
    records[i + 1] = records[i]! + group.length;
  });
  return { bytes, ends, records };
}

/** The OPT record's bytes as they stand in a message. */
export function encodeOpt(opt: Answer | undefined): Buffer {
  return opt ? dnsPacket.encode({ additionals: [opt] }).subarray(HEADER_BYTES) : Buffer.alloc(0);
}

/**
 * Cuts one response from `reply` in at most `limit` bytes:
 * - the answer records from `rotation` on (wrapping round), as many as fit
 *   whole; if some do not, TC is set when `signalCut`, and no additional
 *   records are sent (the client will ask again over TCP);
 * - else the glue of the records sent, group by group, as far as it fits:
 *   extra data that does not fit is no reason for TC (RFC 2181 §9);
 * - if not even the authority section fits, header, question and OPT with TC.
 */
export function fitReply(reply: PreparedReply, options: FitOptions): FittedReply {
  const fixed = HEADER_BYTES + reply.question.length + reply.authorities.bytes.length + reply.opt.length;
  if (options.truncateAll || fixed > options.limit) return truncatedEmpty(reply, options.id);
  const total = groupCount(reply.answers);
  const start = total === 0 ? 0 : ((options.rotation % total) + total) % total;
  const sent = fitting(reply.answers, start, total, options.limit - fixed);
  const truncated = sent < total && options.signalCut;
  const answerBytes = span(reply.answers.ends, start, sent);
  const glueGroups = truncated ? 0 : fitting(reply.glue, start, sent, options.limit - fixed - answerBytes);
  // One allocation and plain copies: this runs for every answer, kept or not.
  const bytes = Buffer.allocUnsafe(fixed + answerBytes + span(reply.glue.ends, start, glueGroups));
  writeHeader(bytes, options.id, reply.flags | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0), [
    reply.question.length > 0 ? 1 : 0,
    span(reply.answers.records, start, sent),
    reply.authorities.records[groupCount(reply.authorities)]!,
    span(reply.glue.records, start, glueGroups) + (reply.opt.length > 0 ? 1 : 0),
  ]);
  let at = HEADER_BYTES + reply.question.copy(bytes, HEADER_BYTES);
  at = copyGroups(reply.answers, start, sent, bytes, at);
  at += reply.authorities.bytes.copy(bytes, at);
  at = copyGroups(reply.glue, start, glueGroups, bytes, at);
  reply.opt.copy(bytes, at);
  return { bytes, truncated };
}

function truncatedEmpty(reply: PreparedReply, id: number): FittedReply {
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + reply.question.length + reply.opt.length);
  writeHeader(bytes, id, reply.flags | dnsPacket.TRUNCATED_RESPONSE, [reply.question.length > 0 ? 1 : 0, 0, 0, reply.opt.length > 0 ? 1 : 0]);
  reply.opt.copy(bytes, HEADER_BYTES + reply.question.copy(bytes, HEADER_BYTES));
  return { bytes, truncated: true };
}

function groupCount(run: RecordRun): number {
  return run.ends.length - 1;
}

/** Sum over `count` groups from `start`, wrapping round, of a prefix array (`ends` or `records`). */
function span(prefix: Uint32Array, start: number, count: number): number {
  const total = prefix.length - 1;
  if (count === 0) return 0;
  if (start + count <= total) return prefix[start + count]! - prefix[start]!;
  return prefix[total]! - prefix[start]! + prefix[start + count - total]!;
}

/** The most groups from `start` (at most `most`, wrapping round) whose bytes fit in `budget`; a binary search, as runs may hold thousands. */
function fitting(run: RecordRun, start: number, most: number, budget: number): number {
  if (groupCount(run) === 0) return 0;
  let low = 0;
  let high = most;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (span(run.ends, start, mid) <= budget) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Copies `count` groups from `start` (wrapping round: one or two ranges of the run) into `target` at `at`; returns the offset after them. */
function copyGroups(run: RecordRun, start: number, count: number, target: Buffer, at: number): number {
  const total = groupCount(run);
  if (count === 0) return at;
  if (start + count <= total) return at + run.bytes.copy(target, at, run.ends[start], run.ends[start + count]);
  const first = at + run.bytes.copy(target, at, run.ends[start], run.ends[total]);
  return first + run.bytes.copy(target, first, 0, run.ends[start + count - total]);
}

/** Writes the 12-byte header: id, flags, then the question, answer, authority and additional counts. */
function writeHeader(target: Buffer, id: number, flags: number, counts: readonly [number, number, number, number]): void {
  target.writeUInt16BE(id, 0);
  target.writeUInt16BE(flags, 2);
  for (let i = 0; i < 4; i++) target.writeUInt16BE(counts[i]!, 4 + 2 * i);
}

/** Bytes a PreparedReply holds, for the answer cache's budget. */
export function preparedBytes(reply: PreparedReply): number {
  const runBytes = (run: RecordRun) => run.bytes.length + run.ends.byteLength + run.records.byteLength;
  return reply.question.length + runBytes(reply.answers) + runBytes(reply.glue) + runBytes(reply.authorities) + reply.opt.length;
}
