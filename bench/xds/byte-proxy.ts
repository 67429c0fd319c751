/**
 * A loopback TCP proxy that counts bytes in each direction, so the bytes
 * bench sees everything on the wire between one client and the server:
 * HTTP/2 frames, gRPC message prefixes and the protobuf payloads.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface ByteProxy {
  readonly port: number;
  /** Bytes server → client so far. */
  readonly toClient: number;
  /** Bytes client → server so far. */
  readonly toServer: number;
  close(): Promise<void>;
}

export async function startByteProxy(targetPort: number): Promise<ByteProxy> {
  let toClient = 0;
  let toServer = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => {
      toServer += chunk.length;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      toClient += chunk.length;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("proxy has no port");
  return {
    port: address.port,
    get toClient() {
      return toClient;
    },
    get toServer() {
      return toServer;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
