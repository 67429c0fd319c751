import { createSocket } from "node:dgram";
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
