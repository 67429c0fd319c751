import * as grpc from "@grpc/grpc-js";
import { request } from "node:http";
import { connect, isIP } from "node:net";
import { service as healthServiceDefinition } from "grpc-health-check";
import type { ProbeResult, ProbeSession, ProbeTarget, Prober } from "./prober.js";

/** A unary method of a client made by makeGenericClientConstructor (grpc-js types those as `any`). */
type UnaryMethod<Req, Res> = (request: Req, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, response?: Res) => void) => grpc.ClientUnaryCall;

/**
 * The real probers. They time out on the real clock (deadlines, socket
 * timeouts): they talk to real sockets and are tested in integration; the
 * monitor enforces `timeoutMs` through its injected clock as well.
 */
export function createNetworkProber(): Prober {
  let health: grpc.ServiceClientConstructor | undefined;
  return {
    open(target) {
      switch (target.kind) {
        case "grpc":
          return openGrpcSession(target, (health ??= healthClientConstructor()));
        case "http":
          return statelessSession((options) => httpCheck(target, options));
        case "tcp":
          return statelessSession((options) => tcpCheck(target, options));
      }
    },
  };
}

/**
 * The `grpc.health.v1.Health` client, from the service definition that
 * grpc-health-check (the grpc-node team's package) loads from its own
 * health.proto with string enums, so `status` reads "SERVING".
 */
function healthClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeClientConstructor(healthServiceDefinition, "grpc.health.v1.Health");
}

/** `grpc.health.v1.HealthCheckResponse` as that definition decodes it. */
interface HealthCheckResponse {
  readonly status: string;
}

type CheckOptions = Parameters<ProbeSession["check"]>[0];

function statelessSession(check: (options: CheckOptions) => Promise<ProbeResult>): ProbeSession {
  return { check, close: () => undefined };
}

function hostPort(target: ProbeTarget): string {
  return isIP(target.address) === 6 ? `[${target.address}]:${target.port}` : `${target.address}:${target.port}`;
}

const PASS: ProbeResult = { ok: true };
const fail = (reason: string): ProbeResult => ({ ok: false, reason: reason.split("\n")[0]!.slice(0, 200) });

/**
 * Channel options for health checks: a channel of its own (grpc-js otherwise
 * shares connections between channels to one address, backoff state
 * included) and no retries, so each check is exactly one attempt.
 */
const HEALTH_CHANNEL_OPTIONS: grpc.ChannelOptions = { "grpc.use_local_subchannel_pool": 1, "grpc.enable_retries": 0 };

/**
 * `grpc.health.v1.Health/Check` with `service` = the steadymesh service
 * name; SERVING passes. The channel is kept while checks pass and dropped on
 * a failure, so that a backend coming back is reached at the next check
 * rather than after grpc-js's reconnect backoff.
 */
function openGrpcSession(target: ProbeTarget, Health: grpc.ServiceClientConstructor): ProbeSession {
  let client: grpc.Client | undefined;
  const drop = (which: grpc.Client) => {
    which.close();
    if (client === which) client = undefined;
  };
  return {
    check({ timeoutMs, signal }) {
      const current = (client ??= new Health(hostPort(target), grpc.credentials.createInsecure(), HEALTH_CHANNEL_OPTIONS));
      return new Promise<ProbeResult>((resolve) => {
        const onAbort = () => call.cancel();
        const call = (current as grpc.Client & { Check: UnaryMethod<{ service: string }, HealthCheckResponse> }).Check(
          { service: target.service },
          { deadline: Date.now() + timeoutMs },
          (err: grpc.ServiceError | null, response: HealthCheckResponse | undefined) => {
            signal.removeEventListener("abort", onAbort);
            const result = err ? fail(`${grpc.status[err.code] ?? err.code}: ${err.details}`) : response?.status === "SERVING" ? PASS : fail(`status ${response?.status ?? "missing"}`);
            if (!result.ok) drop(current);
            resolve(result);
          },
        );
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
    close() {
      if (client) drop(client);
    },
  };
}

/** GET `path` on a fresh connection; any 2xx passes. */
function httpCheck(target: ProbeTarget, { timeoutMs, signal }: CheckOptions): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    const req = request(
      { host: target.address, port: target.port, path: target.path, method: "GET", agent: false, signal, timeout: timeoutMs, headers: { connection: "close", "user-agent": "steadymesh-health-check" } },
      (res) => {
        const status = res.statusCode ?? 0;
        // The body is not needed; read it to the end so the socket can close.
        res.resume();
        resolve(status >= 200 && status < 300 ? PASS : fail(`HTTP ${status}`));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => resolve(fail(err.message)));
    req.end();
  });
}

/** Passes when a TCP connection opens; the connection is closed at once. */
function tcpCheck(target: ProbeTarget, { timeoutMs, signal }: CheckOptions): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    const socket = connect({ host: target.address, port: target.port, timeout: timeoutMs });
    const finish = (result: ProbeResult) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish(fail("cancelled"));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => finish(PASS));
    socket.once("timeout", () => finish(fail(`no connection within ${timeoutMs} ms`)));
    socket.once("error", (err) => finish(fail(err.message)));
  });
}
