import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import { Resolver } from "node:dns/promises";
import { once } from "node:events";
import { after, test } from "node:test";
import dnsPacket, { type Packet } from "dns-packet";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createDnsServer, type DnsServer } from "../../src/dns/index.js";
import { createFrameReader, frame } from "../../src/dns/tcp-framing.js";
import { createLogger, createSilentLogger } from "../../src/log/index.js";
import type { RegistryView } from "../../src/registry/index.js";
import { capture } from "../helpers/io.js";
import { dig } from "../helpers/dig.js";

const VIEW: RegistryView = {
  revision: 1,
  services: new Map([
    [
      "greeter",
      {
        service: { name: "greeter", protocol: "grpc", lbPolicy: "round_robin", metadata: {} },
        instances: new Map([["a", { service: "greeter", id: "a", address: "127.0.0.1", port: 50051, zone: "", region: "", weight: 1, health: "healthy", metadata: {} }]]),
      },
    ],
  ]),
};

/** A server that fails to hang up would otherwise hang the suite. */
const LIMIT = { timeout: 10_000 };
const servers: DnsServer[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

async function start(options: Partial<Parameters<typeof createDnsServer>[0]> = {}, view: RegistryView = VIEW) {
  const clock = createFakeClock(1_000_000);
  const server = createDnsServer({ registry: { view: () => view }, logger: createSilentLogger(), clock, ...options });
  servers.push(server);
  const address = await server.listen("127.0.0.1", 0);
  return { server, clock, port: address.port };
}

function queryPacket(id: number, name = "greeter.service.mesh"): Packet {
  return { type: "query", id, questions: [{ name, type: "A" }] };
}

/** A query with its TCP length prefix, framed by dns-packet rather than by the code under test. */
function framedQuery(id: number, name?: string): Buffer {
  return dnsPacket.streamEncode(queryPacket(id, name));
}

/**
 * A raw DNS-over-TCP client: framed writes, framed reads (`next` rejects once
 * the server has hung up), and a promise that settles when it does.
 */
async function tcpClient(port: number, localAddress = "127.0.0.1") {
  const socket: Socket = connect({ port, host: "127.0.0.1", localAddress });
  await once(socket, "connect");
  const reader = createFrameReader(65_535);
  const waiting: { resolve(message: Buffer): void; reject(err: Error): void }[] = [];
  const ready: Buffer[] = [];
  let isClosed = false;
  socket.on("data", (chunk: Buffer) => {
    reader.push(chunk);
    for (let m = reader.next(); Buffer.isBuffer(m); m = reader.next()) {
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(m);
      else ready.push(m);
    }
  });
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      isClosed = true;
      for (const waiter of waiting.splice(0)) waiter.reject(new Error("the server closed the connection"));
      resolve();
    }),
  );
  return {
    socket,
    closed,
    send: (bytes: Buffer) => socket.write(bytes),
    next: () =>
      new Promise<Buffer>((resolve, reject) => {
        if (ready.length > 0) resolve(ready.shift()!);
        else if (isClosed) reject(new Error("the server closed the connection"));
        else waiting.push({ resolve, reject });
      }),
  };
}

test("dns server - port 0 gives UDP and TCP the same port", LIMIT, async () => {
  const { port } = await start();
  const udp = await dig(port, ["greeter.service.mesh", "A"]);
  const tcp = await dig(port, ["greeter.service.mesh", "A", "+tcp"]);
  assert.deepEqual([udp.transport, udp.answer.map((r) => r.data)], ["UDP", ["127.0.0.1"]]);
  assert.deepEqual([tcp.transport, tcp.answer.map((r) => r.data)], ["TCP", ["127.0.0.1"]]);
});

test("dns server - several queries on one TCP connection, in one write, are answered in order", LIMIT, async () => {
  const { port } = await start();
  const client = await tcpClient(port);
  client.send(Buffer.concat([framedQuery(1), framedQuery(2, "nope.service.mesh"), framedQuery(3)]));
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(dnsPacket.decode(await client.next()).id);
  assert.deepEqual(ids, [1, 2, 3]);
  client.socket.destroy();
});

test("dns server - a TCP length prefix over the limit closes the connection without an answer", LIMIT, async () => {
  const { port } = await start();
  const client = await tcpClient(port);
  let answered = false;
  client.socket.on("data", () => (answered = true));
  client.send(Buffer.from([0xff, 0xff, 0x00, 0x01]));
  await client.closed;
  assert.equal(answered, false);
});

test("dns server - undecodable bytes over TCP get FORMERR, then the connection is closed", LIMIT, async () => {
  const { port } = await start();
  const client = await tcpClient(port);
  const garbage = Buffer.from([0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f]);
  client.send(Buffer.concat([frame(garbage), framedQuery(5)]));
  const reply = dnsPacket.decode(await client.next()) as ReturnType<typeof dnsPacket.decode> & { rcode: string };
  assert.deepEqual([reply.id, reply.rcode], [0x1234, "FORMERR"]);
  await client.closed;
});

test("dns server - an idle TCP connection is closed once the idle timeout passes on the clock", LIMIT, async () => {
  const { port, clock } = await start({ tcpIdleTimeoutMs: 10_000 });
  const client = await tcpClient(port);
  client.send(framedQuery(1));
  await client.next();
  clock.advance(9_999);
  client.send(framedQuery(2));
  assert.equal(dnsPacket.decode(await client.next()).id, 2, "still open just before the timeout");
  clock.advance(9_999);
  client.send(framedQuery(3));
  assert.equal(dnsPacket.decode(await client.next()).id, 3, "query 2 re-armed the timer");
  clock.advance(10_000);
  await client.closed;
  assert.equal(clock.pending(), 0, "the idle timer is gone with the connection");
});

test("dns server - close hangs up on open TCP clients, releases the port, and is idempotent", LIMIT, async () => {
  const { server, port } = await start();
  const client = await tcpClient(port);
  client.send(framedQuery(1));
  await client.next();
  const first = server.close();
  assert.equal(server.close(), first);
  await Promise.all([first, client.closed]);
  const again = createDnsServer({ registry: { view: () => VIEW }, logger: createSilentLogger() });
  servers.push(again);
  assert.deepEqual(await again.listen("127.0.0.1", port), { host: "127.0.0.1", port });
});

test("dns server - a taken TCP or UDP port fails listen with the protocol and port, and leaves nothing bound", LIMIT, async () => {
  const tcpBlocker = createServer();
  await new Promise<void>((resolve) => tcpBlocker.listen(0, "127.0.0.1", resolve));
  const tcpPort = (tcpBlocker.address() as { port: number }).port;
  const blocked = createDnsServer({ registry: { view: () => VIEW }, logger: createSilentLogger() });
  await assert.rejects(blocked.listen("127.0.0.1", tcpPort), new RegExp(`^SteadyError: dns: cannot listen on TCP 127\\.0\\.0\\.1:${tcpPort}: .*EADDRINUSE`));
  await blocked.close();
  const udpCheck = createSocket("udp4");
  await new Promise<void>((resolve, reject) => udpCheck.once("error", reject).bind(tcpPort, "127.0.0.1", resolve));
  udpCheck.close();
  await new Promise<void>((resolve) => tcpBlocker.close(() => resolve()));

  const udpBlocker = createSocket("udp4");
  await new Promise<void>((resolve) => udpBlocker.bind(0, "127.0.0.1", resolve));
  const udpPort = udpBlocker.address().port;
  const blockedUdp = createDnsServer({ registry: { view: () => VIEW }, logger: createSilentLogger() });
  await assert.rejects(blockedUdp.listen("127.0.0.1", udpPort), /^SteadyError: dns: cannot listen on UDP .*EADDRINUSE/);
  udpBlocker.close();
});

test("dns server - malformed packets warn at most once per 10 s of the clock; the rest are debug lines", LIMIT, async () => {
  const out = capture();
  const { port, clock } = await start({ logger: createLogger({ level: "debug", destination: out.stream }) });
  const socket = createSocket("udp4");
  const garbage = Buffer.from([0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f]);
  const replies = (n: number) =>
    new Promise<void>((resolve) => {
      let seen = 0;
      const onMessage = () => ++seen === n && (socket.off("message", onMessage), resolve());
      socket.on("message", onMessage);
    });
  const sendAll = async (n: number) => {
    const done = replies(n);
    for (let i = 0; i < n; i++) socket.send(garbage, port, "127.0.0.1");
    await done;
  };
  await sendAll(3);
  clock.advance(10_000);
  await sendAll(1);
  socket.close();
  const lines = out.text().trim().split("\n").map((l) => JSON.parse(l) as { level: number; msg: string; suppressedSinceLastWarning?: number });
  const malformed = lines.filter((l) => l.msg === "dns: malformed message");
  assert.deepEqual(malformed.map((l) => [l.level, l.suppressedSinceLastWarning]), [[40, 0], [20, undefined], [20, undefined], [40, 2]]);
});

/** Resolves once `check` holds, or after `ms` (the caller's assertion then says what was seen). */
async function settle(check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 10));
}

test("dns server - 300 TCP connections from one address hold 16 slots; another client, and the same address within its share, still get answers", LIMIT, async () => {
  const { port } = await start();
  const hog: Socket[] = [];
  let closed = 0;
  await Promise.all(
    Array.from({ length: 300 }, async () => {
      const socket = connect({ port, host: "127.0.0.1", localAddress: "127.0.0.1" });
      socket.on("error", () => undefined);
      socket.once("close", () => closed++);
      hog.push(socket);
      await once(socket, "connect");
    }),
  );
  await settle(() => closed >= 284);
  assert.equal(closed, 284, "every connection past the 16th from one address is closed at once");

  const other = await tcpClient(port, "127.0.0.2");
  other.send(framedQuery(41));
  assert.equal(dnsPacket.decode(await other.next()).id, 41, "a client from another address");
  const viaDig = await dig(port, ["greeter.service.mesh", "A", "+tcp", "-b", "127.0.0.3"]);
  assert.deepEqual([viaDig.status, viaDig.answer.map((r) => r.data)], ["NOERROR", ["127.0.0.1"]]);

  hog.find((socket) => !socket.destroyed)!.destroy();
  await settle(() => closed >= 285);
  const same = await tcpClient(port, "127.0.0.1");
  same.send(framedQuery(42));
  assert.equal(dnsPacket.decode(await same.next()).id, 42, "the same address, within its share again");
  for (const socket of [...hog, other.socket, same.socket]) socket.destroy();
});

test("dns server - 2,000 SRV instances: dig over TCP and Node's resolver get records, not an empty TC", LIMIT, async () => {
  const instances = new Map(
    Array.from({ length: 2000 }, (_, i) => [`i${i}`, { service: "big", id: `i${i}`, address: `10.0.${i >> 8}.${i & 255}`, port: 1024 + i, zone: "", region: "", weight: 1, health: "healthy" as const, metadata: {} }] as const),
  );
  const view: RegistryView = { revision: 1, services: new Map([["big", { service: { name: "big", protocol: "grpc", lbPolicy: "round_robin", metadata: {} }, instances }]]) };
  const { port } = await start({}, view);
  const first = await dig(port, ["_big._tcp.service.mesh", "SRV", "+tcp"]);
  assert.equal(first.status, "NOERROR");
  assert.ok(!first.flags.includes("tc"), first.flags.join(" "));
  assert.ok(first.answer.length > 1000, `${first.answer.length} records over TCP`);
  const second = await dig(port, ["_big._tcp.service.mesh", "SRV", "+tcp"]);
  assert.notEqual(second.answer[0]!.data, first.answer[0]!.data, "the next answer starts further on");

  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const records = await resolver.resolveSrv("_big._tcp.service.mesh");
  assert.ok(records.length > 1000, `${records.length} records through c-ares`);
  const addresses = await resolver.resolve4("big.service.mesh");
  assert.ok(addresses.length >= 2000, `${addresses.length} A records`);
});

test("dns server - with a rate limit, UDP over the rate is dropped or slipped as TC; dig retries the slip over TCP and gets the answer", LIMIT, async () => {
  const { server, port } = await start({ rateLimit: { responsesPerSecond: 3, slip: 1 } });
  assert.equal(server.rateLimited(), true);
  const socket = createSocket("udp4");
  const replies: Buffer[] = [];
  socket.on("message", (message) => replies.push(message));
  for (let i = 0; i < 5; i++) socket.send(dnsPacket.encode(queryPacket(100 + i)), port, "127.0.0.1");
  await settle(() => replies.length >= 5);
  socket.close();
  const tc = replies.map((r) => dnsPacket.decode(r)).map((p) => [p.id, p.flag_tc, p.answers!.length]);
  assert.deepEqual(tc.sort((a, b) => Number(a[0]) - Number(b[0])), [[100, false, 1], [101, false, 1], [102, false, 1], [103, true, 0], [104, true, 0]]);
  const viaDig = await dig(port, ["greeter.service.mesh", "A"]);
  assert.ok(viaDig.retriedOverTcp, viaDig.output);
  assert.deepEqual([viaDig.transport, viaDig.answer.map((r) => r.data)], ["TCP", ["127.0.0.1"]]);
  const { server: open } = await start();
  assert.equal(open.rateLimited(), false, "off by default on loopback");
});
