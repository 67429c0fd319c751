import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { LOGIN_BALANCER } from "../scenario/index.js";

/**
 * The lab's login load balancer: the one `host:port` that a `dnsFallback`
 * policy names (a LOGICAL_DNS Cluster has one name and one port, gRFC A37),
 * standing for what production puts behind such a name, an L4 load balancer
 * or VIP in front of the service's instances. The lab's login instances each
 * listen on their own port of 127.0.0.1, so no DNS name alone can reach them
 * all; the balancer listens on LOGIN_BALANCER.port of a loopback address of
 * its own (127.x.y.z, picked per run, so two labs never share it), is
 * registered in the primary control plane, whose DNS the lab serves, as
 * service LOGIN_BALANCER.service (so steadymesh's DNS answers
 * `login-lb.service.mesh` with its address), and
 * hands each TCP connection to the next login instance in turn. A gRPC
 * client keeps one connection per address, so each gateway's DNS-path calls
 * go to one login instance (different gateways to different ones).
 */

export interface LoginBalancer {
  /** The loopback address it listens on (127.x.y.z). */
  readonly address: string;
  readonly port: number;
  /** Connections handed over so far. */
  connections(): number;
  stop(): Promise<void>;
}

/** A loopback address other than 127.0.0.1, from `random` (0 ≤ r < 1, three draws). */
export function loopbackAddress(random: () => number): string {
  const octet = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  return `127.${octet(100, 199)}.${octet(1, 254)}.${octet(1, 254)}`;
}

/**
 * Starts the balancer on `port` (default LOGIN_BALANCER.port; 0 for one the kernel picks, in tests) of a fresh
 * loopback address; `backends()` gives the login instances' ports on
 * 127.0.0.1 at each new connection (none: the connection is closed).
 */
export async function startLoginBalancer(backends: () => readonly number[], port: number = LOGIN_BALANCER.port, random: () => number = Math.random): Promise<LoginBalancer> {
  const open = new Set<Socket>();
  let next = 0;
  let handed = 0;

  function relay(client: Socket): void {
    const ports = backends();
    if (ports.length === 0) {
      client.destroy();
      return;
    }
    const target = ports[next++ % ports.length]!;
    handed++;
    const upstream = connect(target, "127.0.0.1");
    open.add(client).add(upstream);
    const close = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream).pipe(client);
  }

  let server: Server | undefined;
  let address = "";
  for (let attempt = 1; !server; attempt++) {
    const candidate = createServer(relay);
    address = loopbackAddress(random);
    try {
      await new Promise<void>((resolve, reject) => {
        candidate.once("error", reject);
        candidate.listen(port, address, () => resolve());
      });
      server = candidate;
    } catch (err) {
      candidate.close();
      if (attempt === 20) throw err;
    }
  }
  const listening = server;
  return {
    address,
    port: (listening.address() as AddressInfo).port,
    connections: () => handed,
    async stop() {
      for (const socket of open) socket.destroy();
      open.clear();
      await new Promise<void>((resolve) => listening.close(() => resolve()));
    },
  };
}
