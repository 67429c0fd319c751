import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { after, before, test } from "node:test";
import dnsPacket from "dns-packet";
import { startControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { dig } from "../helpers/dig.js";

let cp: TestControlPlane;
let resolver: Resolver;

before(async () => {
  // A push delay far longer than any test: DNS reads registry.view() per query,
  // so its answers must not wait for the xDS snapshot path.
  cp = await startControlPlane({ pushMinDelayMs: 60_000, pushMaxDelayMs: 60_000 });
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${cp.dns.port}`]);
  await cp.register("greeter", "a", 50051);
  await cp.register("greeter", "b", 50052, { address: "::1", weight: 7 });
});

after(async () => {
  await cp?.close();
});

const digAt = (...args: string[]) => dig(cp.dns.port, args);

/** Sends `packets` from one UDP socket and resolves with the first datagram back that `wanted` accepts. */
function udpExchange(port: number, packets: readonly Buffer[], wanted: (reply: Buffer) => boolean = () => true): Promise<Buffer> {
  const socket = createSocket("udp4");
  return new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no wanted UDP reply within 5 s")), 5000);
    socket.on("message", (message) => {
      if (!wanted(message)) return;
      clearTimeout(timer);
      resolve(message);
    });
    socket.once("error", reject);
    for (const packet of packets) socket.send(packet, port, "127.0.0.1");
  }).finally(() => socket.close());
}

test("dns - A and AAAA list the healthy instances, for dig and for Node's resolver", async () => {
  const a = await digAt("greeter.service.mesh", "A");
  assert.equal(a.status, "NOERROR");
  assert.ok(a.flags.includes("aa"), a.output);
  assert.ok(!a.flags.includes("ra"));
  assert.deepEqual(a.answer.map((r) => [r.name, r.ttl, r.type, r.data]), [["greeter.service.mesh.", 5, "A", "127.0.0.1"]]);
  const aaaa = await digAt("GREETER.Service.Mesh", "AAAA");
  assert.deepEqual(aaaa.answer.map((r) => [r.name, r.type, r.data]), [["GREETER.Service.Mesh.", "AAAA", "::1"]]);
  assert.deepEqual(await resolver.resolve4("greeter.service.mesh"), ["127.0.0.1"]);
  assert.deepEqual(await resolver.resolve6("greeter.service.mesh"), ["::1"]);
});

test("dns - RD is copied into the answer and RA is never set", async () => {
  const withRd = await digAt("greeter.service.mesh", "A", "+recurse");
  assert.ok(withRd.flags.includes("rd"));
  assert.ok(!withRd.flags.includes("ra"));
  assert.ok(!(await digAt("greeter.service.mesh", "A")).flags.includes("rd"));
});

test("dns - SRV gives each healthy instance with its port and weight, and every target resolves", async () => {
  const srv = await digAt("_greeter._tcp.service.mesh", "SRV");
  assert.equal(srv.status, "NOERROR");
  assert.deepEqual(srv.answer.map((r) => r.data).sort(), ["0 1 50051 a.greeter.service.mesh.", "0 7 50052 b.greeter.service.mesh."]);
  assert.deepEqual(srv.additional.map((r) => [r.name, r.type, r.data]).sort(), [
    ["a.greeter.service.mesh.", "A", "127.0.0.1"],
    ["b.greeter.service.mesh.", "AAAA", "::1"],
  ]);
  const records = await resolver.resolveSrv("_greeter._tcp.service.mesh");
  assert.deepEqual(records.map((r) => [r.name, r.port, r.priority, r.weight]).sort(), [
    ["a.greeter.service.mesh", 50051, 0, 1],
    ["b.greeter.service.mesh", 50052, 0, 7],
  ]);
  assert.deepEqual(await resolver.resolve4("a.greeter.service.mesh"), ["127.0.0.1"]);
  assert.deepEqual(await resolver.resolve6("b.greeter.service.mesh"), ["::1"]);
});

test("dns - an unknown name is NXDOMAIN with the SOA (serial = registry revision); outside the domain is REFUSED", async () => {
  const { body } = await cp.api("GET", "/healthz");
  const nx = await digAt("nope.service.mesh", "A");
  assert.equal(nx.status, "NXDOMAIN");
  assert.ok(nx.flags.includes("aa"));
  assert.equal(nx.answer.length, 0);
  assert.deepEqual(nx.authority.map((r) => [r.name, r.type, r.data]), [["mesh.", "SOA", `ns.mesh. hostmaster.mesh. ${body.revision} 60 10 86400 5`]]);
  await assert.rejects(resolver.resolve4("nope.service.mesh"), { code: "ENOTFOUND" });

  const refused = await digAt("example.com", "A");
  assert.equal(refused.status, "REFUSED");
  assert.ok(!refused.flags.includes("aa"));
  await assert.rejects(resolver.resolve4("example.com"), { code: "EREFUSED" });

  const nodata = await digAt("a.greeter.service.mesh", "AAAA");
  assert.equal(nodata.status, "NOERROR");
  assert.deepEqual([nodata.answer.length, nodata.authority.map((r) => r.type)], [0, ["SOA"]]);
  assert.deepEqual((await digAt("mesh", "NS")).answer.map((r) => r.data), ["ns.mesh."]);
});

test("dns - a big answer over UDP carries the records that fit, with TC, and is complete over TCP", async () => {
  await Promise.all(Array.from({ length: 60 }, (_, i) => cp.register("big", `i${i}`, 40000 + i, { address: `127.0.1.${i + 1}` })));
  const truncated = await digAt("big.service.mesh", "A", "+ignore", "+noedns");
  assert.ok(truncated.flags.includes("tc"), truncated.output);
  assert.equal(truncated.answer.length, 14, "as many as fit in 512 bytes");
  assert.equal(truncated.transport, "UDP");
  const next = await digAt("big.service.mesh", "A", "+ignore", "+noedns");
  assert.notDeepEqual(next.answer, truncated.answer, "the next answer starts one record further on");

  const retried = await digAt("big.service.mesh", "A", "+noedns");
  assert.ok(retried.retriedOverTcp, retried.output);
  assert.equal(retried.transport, "TCP");
  assert.ok(!retried.flags.includes("tc"));
  assert.equal(retried.answer.length, 60);

  const edns = await digAt("big.service.mesh", "A", "+bufsize=4096", "+ignore");
  assert.deepEqual([edns.transport, edns.flags.includes("tc"), edns.answer.length], ["UDP", true, 37], "EDNS sizes are capped at 1232 bytes");
  assert.equal((await digAt("big.service.mesh", "A", "+bufsize=4096")).answer.length, 60, "dig retries over TCP");
  assert.equal((await digAt("_big._tcp.service.mesh", "SRV", "+tcp")).answer.length, 60);
  assert.equal((await resolver.resolve4("big.service.mesh")).length, 60, "c-ares retries over TCP too");
});

test("dns - every class but IN is REFUSED, for dig: CH, HS, ANY and an unnamed one", async () => {
  for (const qclass of ["CH", "HS", "ANY", "CLASS254"]) {
    const refused = await digAt("greeter.service.mesh", "A", "-c", qclass);
    assert.equal(refused.status, "REFUSED", `${qclass}: ${refused.output}`);
    assert.deepEqual([refused.answer.length, refused.flags.includes("aa")], [0, false], qclass);
  }
  assert.equal((await digAt("greeter.service.mesh", "A", "-c", "IN")).status, "NOERROR");
});

test("dns - writes show in the next answer: unhealthy leaves, its own name stays, healthy returns", async () => {
  await cp.register("flip", "x", 7001);
  await cp.register("flip", "y", 7002, { address: "127.0.0.2" });
  assert.deepEqual((await resolver.resolve4("flip.service.mesh")).sort(), ["127.0.0.1", "127.0.0.2"]);

  const put = await cp.api("PUT", "/v1/services/flip/instances/y", { address: "127.0.0.2", port: 7002, health: "unhealthy" });
  assert.equal(put.status, 200);
  assert.deepEqual(await resolver.resolve4("flip.service.mesh"), ["127.0.0.1"]);
  assert.deepEqual((await digAt("_flip._tcp.service.mesh", "SRV")).answer.map((r) => r.data), ["0 1 7001 x.flip.service.mesh."]);
  assert.deepEqual(await resolver.resolve4("y.flip.service.mesh"), ["127.0.0.2"], "a draining target still resolves");

  await cp.register("flip", "y", 7002, { address: "127.0.0.2", health: "healthy" });
  assert.deepEqual((await resolver.resolve4("flip.service.mesh")).sort(), ["127.0.0.1", "127.0.0.2"]);
  await cp.deregister("flip", "y");
  await assert.rejects(resolver.resolve4("y.flip.service.mesh"), { code: "ENOTFOUND" });
});

test("dns - a malformed UDP packet gets FORMERR or nothing, and the server goes on answering", async () => {
  // Too short to hold an id: dropped. A readable header with garbage after it: FORMERR with that id.
  const short = Buffer.from([1, 2, 3, 4, 5]);
  const garbage = Buffer.concat([Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), Buffer.from("\x3fnot a name")]);
  const reply = await udpExchange(cp.dns.port, [short, garbage]);
  const decoded = dnsPacket.decode(reply) as ReturnType<typeof dnsPacket.decode> & { rcode: string };
  assert.deepEqual([decoded.id, decoded.rcode], [0xabcd, "FORMERR"], "the first reply is for the garbage: the short packet got none");

  const noise = Array.from({ length: 50 }, (_, i) => Buffer.from(Array.from({ length: 5 + i * 7 }, (_, j) => (i * 31 + j * 17) % 256)));
  const valid = dnsPacket.encode({ type: "query", id: 0x7777, questions: [{ name: "greeter.service.mesh", type: "A" }] });
  const answer = dnsPacket.decode(await udpExchange(cp.dns.port, [...noise, valid], (r) => r.readUInt16BE(0) === 0x7777));
  assert.deepEqual(answer.answers?.map((a) => ("data" in a ? a.data : undefined)), ["127.0.0.1"]);
  assert.deepEqual(await resolver.resolve4("greeter.service.mesh"), ["127.0.0.1"]);
  assert.equal((await digAt("greeter.service.mesh", "A", "+tcp")).status, "NOERROR");
});

test("dns - queries are counted by type and response code on /metrics", async () => {
  await digAt("nope.service.mesh", "SRV");
  const res = await fetch(`${cp.adminUrl}/metrics`, { headers: cp.headers() });
  const text = await res.text();
  assert.match(text, /^steadymesh_dns_queries_total\{qtype="A",rcode="NOERROR"\} [1-9]\d*$/m);
  assert.match(text, /^steadymesh_dns_queries_total\{qtype="SRV",rcode="NXDOMAIN"\} [1-9]\d*$/m);
  assert.match(text, /^steadymesh_dns_queries_total\{qtype="NONE",rcode="DROPPED"\} [1-9]\d*$/m);
});

test("dns - serve's dnsRateLimit reaches the DNS server: past the rate, UDP answers slip as TC and dig gets the answer over TCP", async () => {
  const limited = await startControlPlane({ dnsRateLimit: 2 });
  try {
    await limited.register("greeter", "a", 50051);
    const query = (id: number) => dnsPacket.encode({ type: "query", id, questions: [{ name: "greeter.service.mesh", type: "A" }] });
    const socket = createSocket("udp4");
    const replies: boolean[] = [];
    socket.on("message", (message) => replies.push(dnsPacket.decode(message).flag_tc));
    for (let i = 0; i < 8; i++) socket.send(query(i), limited.dns.port, "127.0.0.1");
    for (let waited = 0; replies.length < 5 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    socket.close();
    assert.deepEqual(replies.filter((tc) => !tc).length, 2, `TC flags of the replies: ${replies.join(",")}`);
    assert.ok(replies.filter((tc) => tc).length >= 2, "slip 2: every 2nd response over the rate goes out empty with TC");
    // Over the rate, a dropped try times out and the next one slips (TC, then TCP), as a real client retries.
    const viaDig = await dig(limited.dns.port, ["greeter.service.mesh", "A", "+tries=3", "+time=1"]);
    assert.deepEqual(viaDig.answer.map((r) => r.data), ["127.0.0.1"]);
  } finally {
    await limited.close();
  }
});
