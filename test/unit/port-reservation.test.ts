import assert from "node:assert/strict";
import { connect, createServer } from "node:net";
import { test } from "node:test";
import { reservePorts } from "../../src/server/port-reservation.js";

const loopback = { address: "127.0.0.1", flag: "--bind" } as const;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test("port reservation - a client connected to a held port does not keep release waiting (a resolver reconnecting to a restarting serve)", async () => {
  const port = await freePort();
  const reservation = await reservePorts([{ listener: "xds", bind: loopback, port }]);
  const client = connect(port, "127.0.0.1");
  const ended = new Promise<void>((resolve) => client.on("close", () => resolve()));
  client.on("error", () => {});
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  const released = reservation.release().then(() => "released" as const);
  const outcome = await Promise.race([released, new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), 2000))]);
  // Hung up from this side too, so that a failure ends the test instead of hanging it.
  client.destroy();
  await released;
  await ended;
  assert.equal(outcome, "released", "release was still waiting for the client's connection after 2 s");
  // The port is free again for the real listener.
  const again = await reservePorts([{ listener: "xds", bind: loopback, port }]);
  await again.release();
});

test("port reservation - a port another process holds fails with the listener's one line, and what was held is released", async () => {
  const [first, taken] = [await freePort(), await freePort()];
  const other = createServer();
  await new Promise<void>((resolve) => other.listen(taken, "127.0.0.1", () => resolve()));
  try {
    await assert.rejects(
      reservePorts([
        { listener: "xds", bind: loopback, port: first },
        { listener: "admin", bind: loopback, port: taken },
      ]),
      (err: Error) => err.message.includes(String(taken)) && err.message.includes("admin"),
    );
    const again = await reservePorts([{ listener: "xds", bind: loopback, port: first }]);
    await again.release();
  } finally {
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});
