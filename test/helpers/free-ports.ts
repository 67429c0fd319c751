import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

// Ports for tests that must know a port before a process binds it (etcd's
// peer and client URLs, a control plane restarted on the same port, a port
// nobody listens on). What the lab starts binds port 0 instead and reads the
// port back: a port picked here is free only a moment, and under load another
// process's outgoing connection can take it in between.

/** A port on 127.0.0.1 that was free a moment ago, for TCP and UDP both. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/**
 * `count` different ports on 127.0.0.1, each free a moment ago for TCP and
 * UDP both (a DNS server listens on both). Every port is held until all are
 * picked: ports picked one after another and released at once can repeat
 * (the kernel may hand out a port again as soon as it was closed), and a
 * control plane then fails with "--admin-port and --dns-port are both N".
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Array<{ port: number; release: () => Promise<void> }> = [];
  try {
    // A port free for TCP may be taken for UDP; such a port is held as well (so it is not offered again) and skipped.
    const taken: Array<() => Promise<void>> = [];
    while (held.length < count) {
      const tcp = await listenTcp();
      const udp = await bindUdp(tcp.port);
      if (udp) held.push({ port: tcp.port, release: () => Promise.all([tcp.close(), udp()]).then(() => undefined) });
      else taken.push(tcp.close);
      if (taken.length > 100) throw new Error("no port on 127.0.0.1 is free for both TCP and UDP");
    }
    await Promise.all(taken.map((close) => close()));
    return held.map((h) => h.port);
  } finally {
    await Promise.all(held.map((h) => h.release()));
  }
}

function listenTcp(): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({ port, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

/** Binds UDP `port`; resolves with its close function, or undefined when the port is taken. */
function bindUdp(port: number): Promise<(() => Promise<void>) | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, "127.0.0.1", () => resolve(() => new Promise((done) => socket.close(() => done()))));
  });
}

const taken = new Set<number>();

/**
 * A port below the kernel's ephemeral range (ip_local_port_range), free for
 * TCP and UDP now, and never returned twice by this process. The kernel
 * hands out only ephemeral ports to listen(0) and to outgoing connections,
 * so nothing else in the tests can take this one: use it for a port nobody
 * must listen on ("xDS unreachable"), or for a process that is killed and
 * restarted on the same port. (A port from freePort, released, was taken by
 * a concurrent test's control plane under load: the "unreachable" xDS
 * server then answered.)
 */
export async function quietPort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (taken.has(port)) continue;
    if (await freeForBoth(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port between 10000 and ${low - 1} on 127.0.0.1`);
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 11_000) return low;
  } catch {
    // not Linux: IANA's dynamic range starts at 49152
  }
  return 49_152;
}

async function freeForBoth(port: number): Promise<boolean> {
  const tcp = await new Promise<(() => Promise<void>) | undefined>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(() => new Promise((done) => server.close(() => done()))));
  });
  if (!tcp) return false;
  const udp = await bindUdp(port);
  await tcp();
  if (!udp) return false;
  await udp();
  return true;
}
