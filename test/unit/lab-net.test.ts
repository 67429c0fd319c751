import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { test } from "node:test";
import { freePorts, quietPort } from "../helpers/free-ports.js";
import { readFileSync } from "node:fs";

/**
 * The lab's port picker. A control plane needs three different ports (xDS,
 * admin, DNS on TCP and UDP); picked one after another and each released at
 * once, two could repeat, and the plane refused to start ("--admin-port and
 * --dns-port are both N"), as seen under load.
 */
test("lab net - freePorts gives different ports, each free for TCP and for UDP once it returns", async () => {
  const ports = await freePorts(60);
  assert.equal(ports.length, 60);
  assert.equal(new Set(ports).size, 60, `repeated ports: ${ports.join(",")}`);
  for (const port of ports.slice(0, 10)) {
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once("error", reject);
      server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
    });
    await new Promise<void>((resolve, reject) => {
      const socket = createSocket("udp4").once("error", reject);
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolve()));
    });
  }
});

test("test ports - quietPort gives different ports below the kernel's ephemeral range, each free for TCP and UDP", async () => {
  const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  const ports = await Promise.all(Array.from({ length: 20 }, () => quietPort()));
  assert.equal(new Set(ports).size, 20, `repeated ports: ${ports.join(",")}`);
  for (const port of ports) assert.ok(port >= 10_000 && port < low, `${port} is not below ${low}`);
  const [port] = ports;
  await new Promise<void>((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
});
