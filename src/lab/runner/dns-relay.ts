import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * The DNS server as the lab's clients see it: a relay on its own port in
 * front of steadymesh's DNS listener. `stop()` closes the relay's port, as
 * a DNS server that went down would; `start()` opens it again. The relay
 * stands in for "stop the DNS server" because steadymesh's DNS runs inside
 * `serve`, which must keep serving xDS meanwhile.
 */
export interface DnsRelay {
  readonly port: number;
  running(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const UPSTREAM_TIMEOUT_MS = 2000;

/** Starts the relay on a port the kernel picks (kept across stop and start), relaying to `upstreamPort`. */
export async function startDnsRelay(upstreamPort: number): Promise<DnsRelay> {
  let port = 0;
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  const connections = new Set<Socket>();

  function relayUdp(socket: UdpSocket, message: Buffer, client: { address: string; port: number }): void {
    const upstream = createSocket("udp4");
    const done = () => {
      clearTimeout(timer);
      upstream.close();
    };
    const timer = setTimeout(done, UPSTREAM_TIMEOUT_MS);
    upstream.on("error", done);
    upstream.on("message", (reply) => {
      done();
      if (udp === socket) socket.send(reply, client.port, client.address);
    });
    upstream.send(message, upstreamPort, "127.0.0.1");
  }

  function relayTcp(client: Socket): void {
    connections.add(client);
    const upstream = connect(upstreamPort, "127.0.0.1");
    const close = () => {
      connections.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream).pipe(client);
  }

  /** Opens UDP and TCP on `wanted` (0: a port the kernel picks for UDP, then TCP on the same one); on failure nothing stays open. */
  async function open(wanted: number): Promise<void> {
    const socket = createSocket("udp4");
    socket.on("message", (message, rinfo) => relayUdp(socket, message, rinfo));
    const server = createServer(relayTcp);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(wanted, "127.0.0.1", () => resolve());
      });
      const bound = socket.address().port;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(bound, "127.0.0.1", () => resolve());
      });
      port = bound;
      udp = socket;
      tcp = server;
    } catch (err) {
      socket.close();
      server.close();
      throw err;
    }
  }

  async function start(): Promise<void> {
    if (udp) return;
    if (port !== 0) return open(port);
    // The first start: a UDP port the kernel picked may be taken for TCP; then another is tried.
    for (let attempt = 1; ; attempt++) {
      try {
        return await open(0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt === 20) throw err;
      }
    }
  }

  async function stop(): Promise<void> {
    const [socket, server] = [udp, tcp];
    udp = undefined;
    tcp = undefined;
    for (const c of connections) c.destroy();
    connections.clear();
    await Promise.all([
      socket && new Promise<void>((r) => socket.close(() => r())),
      server && new Promise<void>((r) => server.close(() => r())),
    ]);
  }

  await start();
  return { port, running: () => udp !== undefined, start, stop };
}
