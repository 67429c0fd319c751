/**
 * DNS over UDP for the `dns` section: one query with its decoded answer (to
 * check both servers say the same before measuring), and a small built-in
 * load generator, the fallback when dnsperf is missing: `outstanding`
 * queries in flight on one socket, each answer (or a 1 s timeout) sending
 * the next, for a fixed time.
 */
import { createSocket } from "node:dgram";
import dnsPacket, { type Answer, type RecordType } from "dns-packet";

export interface DnsQuestion {
  readonly name: string;
  readonly type: RecordType;
}

/** EDNS0 with a 4096-byte payload, as `dnsperf -e` sends, so an SRV answer with its glue is not truncated. */
const EDNS = [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0 }] as const;

function encode(id: number, question: DnsQuestion): Buffer {
  return dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ ...question, class: "IN" }], additionals: [...EDNS] as never });
}

/** Sends one query to 127.0.0.1:port and resolves with the decoded response (rejects after `timeoutMs`). */
export function queryOnce(port: number, question: DnsQuestion, timeoutMs = 2000): Promise<{ answers: Answer[]; additionals: Answer[] }> {
  const socket = createSocket("udp4");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (socket.close(), reject(new Error(`no answer from 127.0.0.1:${port} to ${question.name} ${question.type} in ${timeoutMs} ms`))), timeoutMs);
    socket.on("message", (message) => {
      clearTimeout(timer);
      socket.close();
      const packet = dnsPacket.decode(message);
      resolve({ answers: packet.answers ?? [], additionals: (packet.additionals ?? []).filter((a) => a.type !== "OPT") });
    });
    socket.send(encode(1, question), port, "127.0.0.1");
  });
}

export interface UdpLoadResult {
  readonly sent: number;
  readonly answered: number;
  readonly lost: number;
  readonly qps: number;
}

/** Queries 127.0.0.1:port round-robin over `questions` with `outstanding` in flight for `durationMs`. */
export async function udpLoad(port: number, questions: readonly DnsQuestion[], outstanding: number, durationMs: number): Promise<UdpLoadResult> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const packets = questions.map((q) => encode(0, q));
  const inFlight = new Map<number, NodeJS.Timeout>();
  let sent = 0;
  let answered = 0;
  let lost = 0;
  let nextId = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const sendNext = () => {
    if (performance.now() >= deadline) {
      if (inFlight.size === 0) finish();
      return;
    }
    let id = nextId;
    while (inFlight.has(id)) id = (id + 1) & 0xffff;
    nextId = (id + 1) & 0xffff;
    const packet = Buffer.from(packets[sent % packets.length]!);
    packet.writeUInt16BE(id, 0);
    sent++;
    inFlight.set(id, setTimeout(() => (inFlight.delete(id), lost++, sendNext()), 1000));
    socket.send(packet, port, "127.0.0.1");
  };
  socket.on("message", (message) => {
    const id = message.readUInt16BE(0);
    const timer = inFlight.get(id);
    if (!timer) return;
    clearTimeout(timer);
    inFlight.delete(id);
    answered++;
    sendNext();
  });
  for (let i = 0; i < outstanding; i++) sendNext();
  await done;
  const elapsedMs = performance.now() - start;
  socket.close();
  return { sent, answered, lost, qps: (answered * 1000) / Math.min(elapsedMs, durationMs + 1000) };
}
