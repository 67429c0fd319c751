import dnsPacket, { type Answer, type DecodedPacket, type Question } from "dns-packet";
import type { RegistryView } from "../registry/index.js";
import { MAX_TCP_MESSAGE, readEdns, responseOpt, udpLimit, type EdnsRequest } from "./edns.js";
import { encodeOpt, encodeRun, fitReply, type PreparedReply } from "./prepared-reply.js";
import { countsFit, HEADER_BYTES, readRawQuestion, type RawQuestion } from "./query-wire.js";
import { glueFor, locate, recordsAt, soaRecord, type Zone } from "./zone.js";

/** UDP answers are fitted to the client's payload size; TCP answers may use a whole 64 KiB message. */
export type DnsTransport = "udp" | "tcp";

/** Response codes this server sends; BADVERS (16) travels partly in the OPT record. */
export type ResponseCode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED" | "BADVERS";

const RCODE_VALUES: Readonly<Record<ResponseCode, number>> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 };

/** Question types counted under their own name in metrics; every other type is OTHER. */
const COUNTED_TYPES = new Set(["A", "AAAA", "SRV", "SOA", "NS", "ANY"]);
/** The one class this zone has data in (RFC 1035 IN); every other QCLASS, ANY included, is REFUSED. */
const CLASS_IN = 1;
const QR = 1 << 15;

/** Everything an answer depends on besides the query bytes. */
export interface QueryContext {
  readonly zone: Zone;
  /** Read once per query, so every answer reflects the registry as of its arrival. */
  readonly view: RegistryView;
  readonly transport: DnsTransport;
  /** Which answer record comes first (see `fitReply`); 0 when not given. */
  readonly rotation?: number;
}

/** What a query's answer is about: what to log and count, whatever bytes are sent. */
export interface QueryFacts {
  /** DROPPED when no response is sent. */
  readonly rcode: ResponseCode | "DROPPED";
  /** The question's type as dns-packet names it (`A`, `MX`, `UNKNOWN_65280`…); undefined when no question could be read. */
  readonly qtype: string | undefined;
  readonly qname: string | undefined;
  /**
   * Set when the bytes were not a usable DNS query (undecodable, too short for
   * a header, or a response rather than a query). Transports log it as a
   * warning, and a TCP connection that sends one is closed.
   */
  readonly malformed: string | undefined;
  /** Why a well-formed query still got FORMERR, SERVFAIL or REFUSED. */
  readonly detail: string | undefined;
}

/** What became of one query: the bytes to send back, and what to log and count. */
export interface QueryOutcome extends QueryFacts {
  /** Undefined when nothing is sent back: see `malformed`. */
  readonly response: Buffer | undefined;
  /** TC was set: not every answer record fit, and the client should retry over TCP. */
  readonly truncated: boolean;
}

/** A query's answer before it is fitted to a transport's limit; `reply` is undefined when nothing is sent. */
export interface PreparedAnswer extends QueryFacts {
  readonly reply: PreparedReply | undefined;
}

/** A prepared answer and the query's advertised EDNS size, which only decides how much of it one response carries. */
export interface PreparedQuery extends PreparedAnswer {
  /** Undefined without EDNS. */
  readonly udpPayloadSize: number | undefined;
}

/** The fields of the query header a response echoes. */
interface QueryHeader {
  readonly opcode: number;
  readonly rd: boolean;
}

/** Everything a response is built from, before encoding. */
interface Reply {
  readonly rcode: ResponseCode;
  readonly authoritative?: boolean;
  readonly question?: { readonly decoded: Question; readonly raw: RawQuestion } | undefined;
  readonly edns?: EdnsRequest | undefined;
  readonly answers?: Answer[];
  /** Parallel to `answers`: the additional records for each. */
  readonly glue?: Answer[][];
  readonly authorities?: Answer[];
  readonly detail?: string;
  readonly malformed?: string;
}

/**
 * Answers one DNS message (packet in, packet out); pure and never throws.
 * Over UDP the response fits the client's limit and sets TC when answer
 * records were left out; over TCP it may take a whole 65,535-byte message,
 * and records that do not fit are left out without TC (see `fitReply`).
 */
export function answerQuery(query: Buffer, context: QueryContext): QueryOutcome {
  const { udpPayloadSize, ...prepared } = prepareAnswer(query, context);
  return respond(prepared, { id: query.length >= 2 ? query.readUInt16BE(0) : 0, limit: responseLimit(context.transport, udpPayloadSize), rotation: context.rotation ?? 0, transport: context.transport });
}

/** The largest response for this transport and advertised EDNS size (undefined: no EDNS). */
export function responseLimit(transport: DnsTransport, udpPayloadSize: number | undefined): number {
  return transport === "udp" ? udpLimit(udpPayloadSize) : MAX_TCP_MESSAGE;
}

/** Fits a prepared answer into one response (see `fitReply`); `slip` sends the empty TC form. */
export function respond(prepared: PreparedAnswer, how: { id: number; limit: number; rotation: number; transport: DnsTransport; slip?: boolean }): QueryOutcome {
  // Fields spelled out rather than spread: this runs for every query, and object spread is slow in V8.
  const { reply, rcode, qtype, qname, malformed, detail } = prepared;
  if (!reply) return { response: undefined, truncated: false, rcode, qtype, qname, malformed, detail };
  const fitted = fitReply(reply, { id: how.id, limit: how.limit, rotation: how.rotation, signalCut: how.transport === "udp", truncateAll: how.slip ?? false });
  return { response: fitted.bytes, truncated: fitted.truncated, rcode, qtype, qname, malformed, detail };
}

/**
 * Decodes and answers one message, encoding every record of the answer but
 * not yet fitting it to a limit: the part the answer cache keeps.
 */
export function prepareAnswer(query: Buffer, context: Omit<QueryContext, "rotation">): PreparedQuery {
  if (query.length < HEADER_BYTES) return dropped(`${query.length} bytes, shorter than a DNS header`);
  // The flags are read by hand because they are needed exactly when dns-packet cannot decode the message.
  const flags = query.readUInt16BE(2);
  if (flags & QR) return dropped("a response, not a query");
  const header: QueryHeader = { opcode: (flags >> 11) & 0xf, rd: (flags & dnsPacket.RECURSION_DESIRED) !== 0 };
  try {
    return prepare(header, replyTo(header, query, context));
  } catch (err) {
    // A bug here must cost one SERVFAIL, never the socket handler.
    return prepare(header, { rcode: "SERVFAIL", detail: `internal error: ${err instanceof Error ? err.message : String(err)}` });
  }
}

function replyTo(header: QueryHeader, query: Buffer, context: Omit<QueryContext, "rotation">): Reply {
  let packet: DecodedPacket;
  try {
    if (!countsFit(query)) throw new Error("the header counts more questions and records than the message can hold");
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
  if (!question) return { rcode: "FORMERR", edns, detail: "the question cannot be echoed byte for byte (a compression pointer, or a '.' or non-UTF-8 byte inside a label)" };
  if (edns.kind === "present" && edns.version > 0) return { rcode: "BADVERS", question, edns, detail: `EDNS version ${edns.version}; only 0 is supported` };
  if (question.raw.qclass !== CLASS_IN) return { rcode: "REFUSED", question, edns, detail: `class ${question.raw.qclass}; only IN (1) is served` };
  return lookUp(question, edns, context);
}

/** The one answer path for a well-formed query in class IN. */
function lookUp(question: NonNullable<Reply["question"]>, edns: EdnsRequest, { zone, view, transport }: Omit<QueryContext, "rotation">): Reply {
  const base = { question, edns };
  const { name, type } = question.decoded;
  if (type === "AXFR" || type === "IXFR") return { ...base, rcode: "REFUSED", detail: "zone transfers are not offered" };
  const node = locate(name, zone, view);
  if (node.kind === "outside") return { ...base, rcode: "REFUSED" };
  const negative = { ...base, authoritative: true, authorities: [soaRecord(zone, view)] };
  if (node.kind === "absent") return { ...negative, rcode: "NXDOMAIN" };
  // RecordType leaves out ANY (255), which dns-packet does decode.
  const qtype: string = type;
  const answers = recordsAt(node, name, zone, view).filter((r) => qtype === "ANY" || r.type === qtype);
  if (answers.length === 0) return { ...negative, rcode: "NOERROR" };
  // Minimal responses: glue only for clients that can use the room (EDNS) or asked over TCP; see the README's DNS section.
  const withGlue = transport === "tcp" || edns.kind === "present";
  return { ...base, rcode: "NOERROR", authoritative: true, answers, ...(withGlue && { glue: glueFor(answers, zone, view) }) };
}

/**
 * The decoded question and its bytes, if there is exactly one, written in
 * plain labels, and dns-packet's name for it re-encodes to the very bytes
 * that were asked. A '.' or invalid UTF-8 inside a label, or a compression
 * pointer, could not be looked up or echoed faithfully. The question is
 * echoed as asked, so an unknown class still gets a proper REFUSED.
 */
function echoableQuestion(packet: DecodedPacket, query: Buffer): Reply["question"] {
  const decoded = packet.questions?.length === 1 ? packet.questions[0] : undefined;
  const raw = decoded && readRawQuestion(query);
  if (!decoded || !raw) return undefined;
  const encoded = dnsPacket.encode({ questions: [{ name: decoded.name, type: "A", class: "IN" }] });
  return encoded.subarray(HEADER_BYTES, -4).equals(raw.name) ? { decoded, raw } : undefined;
}

function prepare(header: QueryHeader, reply: Reply): PreparedQuery {
  const value = RCODE_VALUES[reply.rcode];
  const edns = reply.edns ?? { kind: "none" };
  const flags = (1 << 15) | (header.opcode << 11) | (reply.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (header.rd ? dnsPacket.RECURSION_DESIRED : 0) | (value & 0xf);
  const answers = reply.answers ?? [];
  return {
    reply: {
      flags,
      question: reply.question?.raw.bytes ?? Buffer.alloc(0),
      answers: encodeRun(answers.map((a) => [a])),
      glue: encodeRun(reply.glue ?? []),
      authorities: encodeRun([reply.authorities ?? []]),
      opt: encodeOpt(edns.kind === "present" ? responseOpt(value >> 4) : undefined),
    },
    rcode: reply.rcode,
    qtype: reply.question?.decoded.type,
    qname: reply.question?.decoded.name,
    malformed: reply.malformed,
    detail: reply.detail,
    udpPayloadSize: edns.kind === "present" ? edns.udpPayloadSize : undefined,
  };
}

function dropped(malformed: string): PreparedQuery {
  return { reply: undefined, rcode: "DROPPED", qtype: undefined, qname: undefined, malformed, detail: undefined, udpPayloadSize: undefined };
}

/** The metrics label of a question type: A, AAAA, SRV, SOA, NS, ANY, OTHER, or NONE; bounded, whatever clients send. */
export function qtypeLabel(qtype: string | undefined): string {
  if (qtype === undefined) return "NONE";
  return COUNTED_TYPES.has(qtype) ? qtype : "OTHER";
}
