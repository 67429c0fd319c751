import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { isIP } from "node:net";
import { listenError } from "./listen-error.js";
import type { ListenerBind, ListenerName } from "./options.js";

/** One listener's address and port; `udp` for DNS, which takes the port over UDP as well as TCP. */
export interface PortClaim {
  readonly listener: ListenerName;
  readonly bind: ListenerBind;
  readonly port: number;
  readonly udp?: boolean;
}

/** Ports held until `release`, so that nothing else takes them while the store opens. */
export interface PortReservation {
  /** Idempotent. */
  release(): Promise<void>;
}

/**
 * Binds every port of `claims` with a plain socket of its own and holds it
 * until `release` (port 0 takes some free port: that checks the address).
 * `serve` does this before it opens the store: a port that another process
 * has fails here, with listenError's one line, before anything is written
 * to the data dir or pushed. (The real listeners cannot bind first: their
 * TLS certificate comes from the CA in the store.) On a failure every
 * socket already bound is released before the error is thrown.
 */
export async function reservePorts(claims: readonly PortClaim[]): Promise<PortReservation> {
  const held: (Server | Socket)[] = [];
  let released: Promise<void> | undefined;
  const release = () => (released ??= Promise.all(held.map(closeQuietly)).then(() => undefined));
  try {
    for (const claim of claims) {
      held.push(await holdTcp(claim));
      if (claim.udp) held.push(await holdUdp(claim));
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { release };
}

/**
 * A client that connects while the port is held (a resolver reconnecting
 * to a restarting serve) is cut off at once: an accepted connection left
 * open would keep `server.close` waiting, and serve would never listen.
 */
function holdTcp(claim: PortClaim): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true }, (socket) => socket.destroy());
    server.once("error", (err) => reject(listenError(claim.listener, claim.bind, claim.port, err)));
    server.listen({ host: claim.bind.address, port: claim.port, exclusive: true }, () => resolve(server));
  });
}

function holdUdp(claim: PortClaim): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(claim.bind.address) === 6 ? "udp6" : "udp4");
    socket.once("error", (err) => {
      socket.close();
      reject(listenError(claim.listener, claim.bind, claim.port, err));
    });
    socket.bind({ address: claim.bind.address, port: claim.port, exclusive: true }, () => resolve(socket));
  });
}

/** Each handle is closed once: release is memoized. */
function closeQuietly(handle: Server | Socket): Promise<void> {
  return new Promise((resolve) => {
    handle.close(() => resolve());
  });
}
