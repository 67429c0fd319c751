import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from "dns-packet";
import type { RegistryView } from "../registry/index.js";
import { MAX_TCP_MESSAGE, readEdns, responseOpt, udpLimit, type EdnsRequest } from "./edns.js";
import { glueFor, locate, recordsAt, soaRecord, type Zone } from "./zone.js";

/** UDP answers are fitted to the client's payload size; TCP answers may use a whole 64 KiB message. */
export type DnsTransport = "udp" | "tcp";

/** Response codes this server sends; BADVERS (16) travels partly in the OPT record. */
export type ResponseCode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED" | "BADVERS";

const RCODE_VALUES: Readonly<Record<ResponseCode, number>> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 };

/** Question types counted under their own name in metrics; every other type is OTHER. */
const COUNTED_TYPES = new Set(["A", "AAAA", "SRV", "SOA", "NS", "ANY"]);
/** Classes this zone has data in; the rest are REFUSED, like names outside the zone. */
const SERVED_CLASSES = new Set(["IN", "ANY"]);
const HEADER_BYTES = 12;
const QR = 1 << 15;

/** Everything an answer depends on besides the query bytes. */
export interface QueryContext {
  readonly zone: Zone;
  /** Read once per query, so every answer reflects the registry as of its arrival. */
  readonly view: RegistryView;
  readonly transport: DnsTransport;
}

/** What became of one query: the bytes to send back, and what to log and count. */
export interface QueryOutcome {
  /** Undefined when nothing is sent back: see `malformed`. */
  readonly response: Buffer | undefined;
  /** DROPPED when no response is sent. */
  readonly rcode: ResponseCode | "DROPPED";
  /** The question's type as dns-packet names it (`A`, `MX`, `UNKNOWN_65280`…); undefined when no question could be read. */
  readonly qtype: string | undefined;
  readonly qname: string | undefined;
  /** TC was set: the answer did not fit and the client should retry over TCP. */
  readonly truncated: boolean;
  /**
   * Set when the bytes were not a usable DNS query (undecodable, too short for
   * a header, or a response rather than a query). Transports log it as a
   * warning, and a TCP connection that sends one is closed.
   */
  readonly malformed: string | undefined;
  /** Why a well-formed query still got FORMERR or SERVFAIL. */
  readonly detail: string | undefined;
}

/** The fields of the query header a response echoes. */
interface QueryHeader {
  readonly id: number;
  readonly opcode: number;
  readonly rd: boolean;
}

/** Everything a response is built from, before encoding and fitting. */
interface Reply {
  readonly rcode: ResponseCode;
  readonly authoritative?: boolean;
  readonly question?: Question | undefined;
  readonly edns?: EdnsRequest | undefined;
  readonly answers?: Answer[];
  readonly authorities?: Answer[];
  readonly additionals?: Answer[];
  readonly detail?: string;
  readonly malformed?: string;
}

/**
 * Answers one DNS message (packet in, packet out); pure and never throws.
 * Over UDP the response fits the client's limit (see `fitResponse`); over
 * TCP it may take the whole 64 KiB a TCP message can hold.
 */
export function answerQuery(query: Buffer, context: QueryContext): QueryOutcome {
  if (query.length < HEADER_BYTES) return dropped(`${query.length} bytes, shorter than a DNS header`);
  // The id and flags are read by hand because they are needed exactly when dns-packet cannot decode the message.
  const flags = query.readUInt16BE(2);
  if (flags & QR) return dropped("a response, not a query");
  const header: QueryHeader = { id: query.readUInt16BE(0), opcode: (flags >> 11) & 0xf, rd: (flags & dnsPacket.RECURSION_DESIRED) !== 0 };
  try {
    return finish(header, replyTo(header, query, context), context.transport);
  } catch (err) {
    // A bug here must cost one SERVFAIL, never the socket handler.
    const detail = `internal error: ${err instanceof Error ? err.message : String(err)}`;
    return finish(header, { rcode: "SERVFAIL", detail }, context.transport);
  }
}

function replyTo(header: QueryHeader, query: Buffer, context: QueryContext): Reply {
  let packet: DecodedPacket;
  try {
    packet = dnsPacket.decode(query);
  } catch (err) {
    const reason = `cannot decode: ${err instanceof Error ? err.message : String(err)}`;
    return header.opcode === 0 ? { rcode: "FORMERR", malformed: reason } : { rcode: "NOTIMP", malformed: reason };
  }
  const edns = readEdns(packet.additionals);
  if (edns.kind === "invalid") return { rcode: "FORMERR", detail: edns.reason };
  const question = echoableQuestion(packet, query);
  if (header.opcode !== 0) return { rcode: "NOTIMP", question, edns, detail: `opcode ${header.opcode}; only QUERY (0) is implemented` };
  const count = packet.questions?.length ?? 0;
  if (count !== 1) return { rcode: "FORMERR", edns, detail: `${count} questions; exactly one is allowed` };
  if (!question) return { rcode: "FORMERR", edns, detail: "the question cannot be echoed byte for byte (unknown class, or a '.' or non-UTF-8 byte inside a label)" };
  if (edns.kind === "present" && edns.version > 0) return { rcode: "BADVERS", question, edns, detail: `EDNS version ${edns.version}; only 0 is supported` };
  return lookUp(question, edns, context);
}

/** The one answer path for a well-formed query. */
function lookUp(question: Question, edns: EdnsRequest, { zone, view }: QueryContext): Reply {
  const base = { question, edns };
  if (!SERVED_CLASSES.has(question.class ?? "IN")) return { ...base, rcode: "REFUSED" };
  if (question.type === "AXFR" || question.type === "IXFR") return { ...base, rcode: "REFUSED", detail: "zone transfers are not offered" };
  const node = locate(question.name, zone, view);
  if (node.kind === "outside") return { ...base, rcode: "REFUSED" };
  const negative = { ...base, authoritative: true, authorities: [soaRecord(zone, view)] };
  if (node.kind === "absent") return { ...negative, rcode: "NXDOMAIN" };
  // RecordType leaves out ANY (255), which dns-packet does decode.
  const qtype: string = question.type;
  const answers = recordsAt(node, question.name, zone, view).filter((r) => qtype === "ANY" || r.type === qtype);
  if (answers.length === 0) return { ...negative, rcode: "NOERROR" };
  return { ...base, rcode: "NOERROR", authoritative: true, answers, additionals: glueFor(answers, zone, view) };
}

/**
 * The decoded question, if there is exactly one and dns-packet re-encodes it
 * to the very bytes that were asked. Anything else (an unknown class, a '.'
 * or invalid UTF-8 inside a label, a compression pointer) could not be echoed
 * faithfully, and a response whose question differs is discarded by clients.
 */
function echoableQuestion(packet: DecodedPacket, query: Buffer): Question | undefined {
  const question = packet.questions?.length === 1 ? packet.questions[0] : undefined;
  if (!question) return undefined;
  const encoded = dnsPacket.encode({ questions: [question] });
  return query.subarray(HEADER_BYTES, encoded.length).equals(encoded.subarray(HEADER_BYTES)) ? question : undefined;
}

function finish(header: QueryHeader, reply: Reply, transport: DnsTransport): QueryOutcome {
  const value = RCODE_VALUES[reply.rcode];
  const edns = reply.edns ?? { kind: "none" };
  const opt = edns.kind === "present" ? [responseOpt(value >> 4)] : [];
  const flags = (header.opcode << 11) | (reply.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (header.rd ? dnsPacket.RECURSION_DESIRED : 0) | (value & 0xf);
  const packet: Packet = {
    type: "response",
    id: header.id,
    flags,
    questions: reply.question ? [reply.question] : [],
    answers: reply.answers ?? [],
    authorities: reply.authorities ?? [],
    additionals: [...(reply.additionals ?? []), ...opt],
  };
  const fitted = fitResponse(packet, transport === "udp" ? udpLimit(edns) : MAX_TCP_MESSAGE);
  return {
    response: fitted.bytes,
    rcode: reply.rcode,
    qtype: reply.question?.type,
    qname: reply.question?.name,
    truncated: fitted.truncated,
    malformed: reply.malformed,
    detail: reply.detail,
  };
}

/**
 * Encodes `packet` in at most `limit` bytes:
 * 1. the whole response, if it fits;
 * 2. else without the additional section (but its OPT), TC clear: extra data
 *    that does not fit is no reason for TC (RFC 2181 §9);
 * 3. else TC set, with the question and OPT only. A client ignores the
 *    records of a truncated response and asks again over TCP, so a partial
 *    answer would only cost bytes.
 */
function fitResponse(packet: Packet, limit: number): { bytes: Buffer; truncated: boolean } {
  if (dnsPacket.encodingLength(packet) <= limit) return { bytes: dnsPacket.encode(packet), truncated: false };
  const opt = (packet.additionals ?? []).filter((a) => a.type === "OPT");
  const lean: Packet = { ...packet, additionals: opt };
  if (dnsPacket.encodingLength(lean) <= limit) return { bytes: dnsPacket.encode(lean), truncated: false };
  const empty: Packet = { ...lean, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [] };
  return { bytes: dnsPacket.encode(empty), truncated: true };
}

function dropped(malformed: string): QueryOutcome {
  return { response: undefined, rcode: "DROPPED", qtype: undefined, qname: undefined, truncated: false, malformed, detail: undefined };
}

/** The metrics label of a question type: A, AAAA, SRV, SOA, NS, ANY, OTHER, or NONE; bounded, whatever clients send. */
export function qtypeLabel(qtype: string | undefined): string {
  if (qtype === undefined) return "NONE";
  return COUNTED_TYPES.has(qtype) ? qtype : "OTHER";
}
