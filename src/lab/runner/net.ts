import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import type { Outcome } from "../workload/index.js";

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

/**
 * One request from a virtual user to a demo gateway. A failure's code is the
 * gRPC status name the gateway reports (`UNAVAILABLE`, `DEADLINE_EXCEEDED`…),
 * else the HTTP status, else `GATEWAY_UNREACHABLE`.
 */
export async function gatewayCall(port: number, method: "GET" | "POST", path: string, body?: unknown, token?: string): Promise<Outcome & { token?: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      signal: AbortSignal.timeout(3000),
      headers: { ...(body !== undefined && { "content-type": "application/json" }), ...(token && { authorization: `Bearer ${token}` }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json = (await res.json().catch(() => ({}))) as { token?: string; code?: string };
    if (res.ok) return { ok: true, ...(json.token && { token: json.token }) };
    return { ok: false, code: json.code ?? String(res.status) };
  } catch (err) {
    return { ok: false, code: err instanceof Error && err.name === "TimeoutError" ? "GATEWAY_TIMEOUT" : "GATEWAY_UNREACHABLE" };
  }
}
