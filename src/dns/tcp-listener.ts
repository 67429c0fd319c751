import { createServer, type Server, type Socket } from "node:net";
import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import type { QueryHandler } from "./query-handler.js";
import { sourcePrefix } from "./rate-limit.js";
import { createFrameReader, frame } from "./tcp-framing.js";

/** What a TCP listener needs; every limit is explicit, so dns-server.ts owns the defaults. */
export interface TcpListenerOptions {
  readonly handle: QueryHandler;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A connection with no complete query for this long is closed. */
  readonly idleTimeoutMs: number;
  /** A length prefix above this closes the connection. */
  readonly maxQueryBytes: number;
  /** Open connections beyond this are closed as soon as they are accepted. */
  readonly maxConnections: number;
  /**
   * Open connections from one client beyond this are closed as soon as they
   * are accepted, so one client cannot take every slot. A client is an IPv4
   * address, or an IPv6 /64 (what one host is usually given).
   */
  readonly maxConnectionsPerClient: number;
  /** How long close() waits for clients to hang up before it cuts them off. */
  readonly closeGraceMs: number;
}

/** DNS over TCP (RFC 7766): many length-framed queries per connection, answered in order. */
export interface TcpListener {
  /** Listens; rejects with the server's error (EADDRINUSE…). */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting, finishes writing what is queued, hangs up; idempotent. */
  close(): Promise<void>;
}

/** A TCP listener that answers through `options.handle`; nothing is bound until `listen`. */
export function createTcpListener(options: TcpListenerOptions): TcpListener {
  const sockets = new Set<Socket>();
  const perClient = new Map<string, number>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const client = sourcePrefix(socket.remoteAddress ?? "", 32, 64);
    const open = perClient.get(client) ?? 0;
    if (open >= options.maxConnectionsPerClient) {
      // Debug, not warn: the client chose to open these, and one line per refused connection would be a log flood.
      options.logger.debug({ client, open }, "dns: too many TCP connections from one client; closing the new one");
      socket.destroy();
      return;
    }
    perClient.set(client, open + 1);
    sockets.add(socket);
    serveConnection(socket, options, () => {
      sockets.delete(socket);
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
  });
  server.maxConnections = options.maxConnections;
  let closing: Promise<void> | undefined;

  return {
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port }, () => {
          server.off("error", reject);
          server.on("error", (err) => options.logger.warn({ err }, "dns: TCP server error"));
          const address = server.address();
          if (address === null || typeof address === "string") reject(new Error(`dns: TCP bound to an unexpected address: ${String(address)}`));
          else resolve({ host: address.address, port: address.port });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        for (const socket of sockets) socket.end();
        const cancel = options.clock.setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, options.closeGraceMs);
        server.once("close", cancel);
      });
      return closing;
    },
  };
}

/**
 * Reads framed queries and writes framed answers, one at a time. When the
 * socket's write buffer is full, reading pauses until it drains, so a client
 * that sends without reading cannot make us buffer without bound; if it
 * never reads, the idle timer closes it.
 */
function serveConnection(socket: Socket, options: TcpListenerOptions, onClosed: () => void): void {
  const from = { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
  const peer = `${from.address}:${from.port}`;
  const { logger } = options;
  const reader = createFrameReader(options.maxQueryBytes);
  const idle = idleTimer(options.clock, options.idleTimeoutMs, () => {
    logger.debug({ peer }, "dns: closing idle TCP connection");
    socket.destroy();
  });
  let blocked = false;
  let peerEnded = false;

  const pump = (): void => {
    while (!blocked && socket.writable) {
      const message = reader.next();
      if (message === undefined) break;
      if (!Buffer.isBuffer(message)) {
        // Debug, not warn: one line per connection is not rate-limited, and connections are cheap to open.
        logger.debug({ peer, length: message.tooLarge, max: options.maxQueryBytes }, "dns: TCP length prefix over the limit; closing the connection");
        socket.destroy();
        return;
      }
      idle.arm();
      const { response, malformed } = options.handle(message, "tcp", from);
      if (response) blocked = !socket.write(frame(response));
      // After bytes that are not DNS the stream cannot be trusted; hang up once the FORMERR is written.
      if (malformed) socket.end();
    }
    if (blocked) socket.pause();
    else if (peerEnded && socket.writable) socket.end();
  };

  socket.on("data", (chunk: Buffer) => {
    reader.push(chunk);
    pump();
  });
  socket.on("drain", () => {
    blocked = false;
    socket.resume();
    pump();
  });
  socket.on("end", () => {
    peerEnded = true;
    pump();
  });
  // Resets and half-written connections are the client's business; log and let 'close' clean up.
  socket.on("error", (err) => logger.debug({ err, peer }, "dns: TCP connection error"));
  socket.on("close", () => {
    idle.cancel();
    onClosed();
  });
  idle.arm();
}

/** A restartable one-shot timer on the clock: `arm` (re)starts the countdown. */
function idleTimer(clock: Clock, ms: number, onIdle: () => void): { arm(): void; cancel(): void } {
  let cancel = (): void => undefined;
  return {
    arm() {
      cancel();
      cancel = clock.setTimeout(onIdle, ms);
    },
    cancel: () => cancel(),
  };
}
