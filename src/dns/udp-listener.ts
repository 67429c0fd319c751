import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "../log/index.js";
import type { QueryHandler } from "./query-handler.js";

/** DNS over UDP: one datagram in, at most one datagram back. */
export interface UdpListener {
  /** Binds; resolves with the real port (0 picks one). Rejects with the socket's error. */
  bind(host: string, port: number): Promise<number>;
  /** Stops receiving. Idempotent. */
  close(): Promise<void>;
}

/** A UDP listener that answers through `handle`; nothing is bound until `bind`. */
export function createUdpListener(handle: QueryHandler, logger: Logger): UdpListener {
  let socket: Socket | undefined;
  let closing: Promise<void> | undefined;

  function onMessage(message: Buffer, peer: { address: string; port: number }): void {
    const { response } = handle(message, "udp", peer);
    if (!response || closing) return;
    socket?.send(response, peer.port, peer.address, (err) => {
      // A client that went away is its own problem; the next datagram is unaffected.
      if (err) logger.debug({ err, peer: `${peer.address}:${peer.port}` }, "dns: could not send a UDP response");
    });
  }

  return {
    bind(host, port) {
      const udp = createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
      socket = udp;
      return new Promise((resolve, reject) => {
        udp.once("error", reject);
        udp.bind({ address: host, port }, () => {
          udp.off("error", reject);
          // After binding, socket errors are about single datagrams (e.g. ICMP unreachable on some systems).
          udp.on("error", (err) => logger.warn({ err }, "dns: UDP socket error"));
          udp.on("message", onMessage);
          resolve(udp.address().port);
        });
      });
    },
    close() {
      closing ??= new Promise((resolve) => {
        if (!socket) return resolve();
        try {
          socket.close(() => resolve());
        } catch (err) {
          // close() throws only when the socket is already closed (its bind failed): nothing is left to release.
          logger.debug({ err }, "dns: UDP socket was already closed");
          resolve();
        }
      });
      return closing;
    },
  };
}
