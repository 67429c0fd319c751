import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";
import { test } from "node:test";
import { whyItFailed } from "../../src/lab/runner/control-plane.js";
import { startDnsRelay } from "../../src/lab/runner/dns-relay.js";

/**
 * The lab's processes bind ports the kernel picks. Before, the lab picked
 * ports, released them and handed them over; under load the primary control
 * plane then exited with EADDRINUSE, and the lab showed only the log line
 * that followed the error.
 */

/** An upstream that answers each UDP datagram and each TCP chunk with "re:" + what it got. */
async function echoUpstream(): Promise<{ port: number; close: () => Promise<void> }> {
  const udp = createSocket("udp4");
  udp.on("message", (msg, rinfo) => udp.send(Buffer.concat([Buffer.from("re:"), msg]), rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", () => resolve()));
  const port = udp.address().port;
  const tcp = createServer((s) => s.on("data", (d) => s.write(Buffer.concat([Buffer.from("re:"), d]))));
  await new Promise<void>((resolve, reject) => tcp.once("error", reject).listen(port, "127.0.0.1", () => resolve()));
  return { port, close: () => Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]).then(() => undefined) };
}

function askUdp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => (s.close(), reject(new Error("no UDP answer"))), 2000);
    s.on("message", (m) => (clearTimeout(timer), s.close(), resolve(m.toString())));
    s.send(text, port, "127.0.0.1");
  });
}

function askTcp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => s.write(text));
    s.once("data", (d) => (s.destroy(), resolve(d.toString())));
    s.once("error", reject);
  });
}

test("lab dns relay - binds a port the kernel picks for UDP and TCP, relays both, and keeps its port across stop and start", async (t) => {
  const upstream = await echoUpstream();
  t.after(() => upstream.close());
  const relay = await startDnsRelay(upstream.port);
  t.after(() => relay.stop());
  assert.ok(relay.port > 0 && relay.port !== upstream.port, `relay port ${relay.port}`);
  assert.equal(await askUdp(relay.port, "a"), "re:a");
  assert.equal(await askTcp(relay.port, "b"), "re:b");
  await relay.stop();
  assert.equal(relay.running(), false);
  await assert.rejects(askTcp(relay.port, "c"), /ECONNREFUSED/);
  await relay.start();
  assert.equal(await askUdp(relay.port, "d"), "re:d");
  assert.equal(await askTcp(relay.port, "e"), "re:e");
});

test("lab control plane - an early exit names the CLI's error line, not the log line printed after it", () => {
  const stderr = [
    '{"level":40,"msg":"fault injection is ON"}',
    "steadymesh: error: listen EADDRINUSE: address already in use 127.0.0.1:39123",
    '{"level":30,"msg":"steadymesh stopped"}',
    "",
  ].join("\n");
  assert.equal(whyItFailed(stderr), "steadymesh: error: listen EADDRINUSE: address already in use 127.0.0.1:39123");
  assert.equal(whyItFailed('{"level":40,"msg":"a"}\nsegfault\n'), "segfault");
  assert.equal(whyItFailed(""), "");
});
