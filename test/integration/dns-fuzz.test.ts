import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { once } from "node:events";
import { connect } from "node:net";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createFakeClock } from "../helpers/fake-clock.js";
import { createDnsServer, type DnsServer } from "../../src/dns/index.js";
import { frame } from "../../src/dns/tcp-framing.js";
import { createSilentLogger } from "../../src/log/index.js";
import { createRng } from "../../src/lab/workload/rng.js";
import { dig } from "../helpers/dig.js";
import { fuzzPackets } from "../helpers/dns-fuzz.js";
import { entry, view } from "../helpers/registry-view.js";

const VIEW = view(1, [
  entry("greeter", [{ id: "a", address: "127.0.0.1", port: 50051 }, { id: "b", address: "127.0.0.2", port: 50052 }]),
  entry("big", Array.from({ length: 300 }, (_, i) => ({ id: `i${i}`, address: `10.1.${i >> 8}.${i & 255}`, port: 2000 + i }))),
]);
const CACHE_BYTES = 256 * 1024;
const MIB = 1024 * 1024;

let server: DnsServer | undefined;
after(async () => {
  await server?.close();
});

/** Sends `packets` over UDP in small batches, so the socket's receive buffer is not what drops them. */
async function overUdp(port: number, packets: readonly Buffer[]): Promise<number> {
  const socket = createSocket("udp4");
  let replies = 0;
  socket.on("message", () => replies++);
  for (let i = 0; i < packets.length; i += 20) {
    for (const packet of packets.slice(i, i + 20)) socket.send(packet, port, "127.0.0.1");
    await sleep(2);
  }
  await sleep(50);
  socket.close();
  return replies;
}

/** Writes `bytes` on a fresh connection, half-closes, and waits for the server to hang up (or 2 s). */
async function overTcp(port: number, bytes: Buffer): Promise<void> {
  const socket = connect({ port, host: "127.0.0.1" });
  // Resets are expected: the server hangs up on bytes that are not DNS.
  socket.on("error", () => undefined);
  socket.resume();
  await once(socket, "connect");
  socket.end(bytes);
  await Promise.race([once(socket, "close"), sleep(2000)]);
  socket.destroy();
}

test("dns fuzz - thousands of seeded random and mutated packets over UDP and TCP: the server stays up, within memory and its cache budget, and still answers dig and Node's resolver", { timeout: 30_000 }, async () => {
  server = createDnsServer({ registry: { view: () => VIEW }, logger: createSilentLogger(), clock: createFakeClock(0), answerCacheBytes: CACHE_BYTES });
  const { port } = await server.listen("127.0.0.1", 0);
  const before = process.memoryUsage();

  const replies = await overUdp(port, fuzzPackets(7, 3000, { maxJunk: 60_000 }));
  assert.ok(replies > 1000, `${replies} UDP replies to 3,000 packets`);
  assert.ok(server.cacheUsage().bytes <= CACHE_BYTES, `UDP: ${JSON.stringify(server.cacheUsage())}`);

  const tcpPackets = fuzzPackets(8, 1000, { maxJunk: 3000 });
  const random = createRng(9);
  const jobs: Buffer[] = [];
  for (let i = 0; i < tcpPackets.length; i += 25) jobs.push(Buffer.concat(tcpPackets.slice(i, i + 25).map(frame)));
  for (let i = 0; i < 20; i++) jobs.push(Buffer.from(Array.from({ length: Math.floor(random() * 5000) }, () => Math.floor(random() * 256))));
  for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map((bytes) => overTcp(port, bytes)));

  const usage = server.cacheUsage();
  assert.ok(usage.bytes <= CACHE_BYTES && usage.entries > 0, JSON.stringify(usage));
  const grown = process.memoryUsage();
  assert.ok(grown.heapUsed - before.heapUsed < 128 * MIB, `heap grew ${((grown.heapUsed - before.heapUsed) / MIB).toFixed(0)} MiB`);
  assert.ok(grown.rss - before.rss < 256 * MIB, `RSS grew ${((grown.rss - before.rss) / MIB).toFixed(0)} MiB`);

  const a = await dig(port, ["greeter.service.mesh", "A"]);
  assert.deepEqual([a.status, a.answer.map((r) => r.data).sort()], ["NOERROR", ["127.0.0.1", "127.0.0.2"]]);
  assert.equal((await dig(port, ["big.service.mesh", "A", "+tcp"])).answer.length, 300);
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  assert.deepEqual((await resolver.resolveSrv("_greeter._tcp.service.mesh")).map((r) => r.port).sort(), [50051, 50052]);
});
