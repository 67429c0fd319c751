/**
 * Greeter backends for the traffic policy tests (test/integration/traffic-policy.test.ts):
 * real gRPC servers on 127.0.0.1 that answer `SayHello` and a second method,
 * `SayHelloAgain` (the same messages under another path, so that a route can
 * match one method and not the other), each reply naming the backend. A
 * backend can be told to delay its answers, to fail every other call with
 * a given code (exactly half of the calls it receives, in arrival order), or
 * to fail every call.
 */
import * as grpc from "@grpc/grpc-js";
import { loadGreeter, type HelloReply } from "./greeter.js";

const Greeter = loadGreeter();
const SAY_HELLO = Greeter.service.SayHello!;

/** `/steadymesh.test.Greeter/SayHello` and `/steadymesh.test.Greeter/SayHelloAgain`. */
export const METHODS = {
  SayHello: SAY_HELLO,
  SayHelloAgain: { ...SAY_HELLO, path: "/steadymesh.test.Greeter/SayHelloAgain", originalName: "SayHelloAgain" },
} as const;
export type MethodName = keyof typeof METHODS;

export interface Behaviour {
  /** Milliseconds before each answer. */
  readonly delayMs?: number;
  /** Fails every other call it receives (the 2nd, 4th, …) with this code. */
  readonly failHalfWith?: grpc.status;
  /** Fails every call it receives with this code. */
  readonly failAllWith?: grpc.status;
}

export interface PolicyBackend {
  readonly id: string;
  readonly port: number;
  /** Calls received (attempts, retries included), per method. */
  calls(method?: MethodName): number;
  set(behaviour: Behaviour): void;
  stop(): Promise<void>;
}

export async function startPolicyBackend(id: string): Promise<PolicyBackend> {
  const server = new grpc.Server();
  const received: Record<MethodName, number> = { SayHello: 0, SayHelloAgain: 0 };
  let behaviour: Behaviour = {};
  let seq = 0;
  const handler = (method: MethodName) => (call: grpc.ServerUnaryCall<{ name: string }, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) => {
    received[method]++;
    const { delayMs = 0, failHalfWith, failAllWith } = behaviour;
    const failure =
      failAllWith !== undefined
        ? { code: failAllWith, details: `${id} fails every call` }
        : failHalfWith !== undefined && ++seq % 2 === 0
          ? { code: failHalfWith, details: `${id} fails every other call` }
          : undefined;
    const answer = () => (failure ? callback(failure) : callback(null, { message: `hello ${call.request.name}`, backend: id }));
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  };
  server.addService(METHODS as unknown as grpc.ServiceDefinition, { SayHello: handler("SayHello"), SayHelloAgain: handler("SayHelloAgain") });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    id,
    port,
    calls: (method) => (method ? received[method] : received.SayHello + received.SayHelloAgain),
    set(next) {
      behaviour = next;
      seq = 0;
    },
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** The outcome of one call, with how long it took. */
export type Outcome = ({ ok: true; backend: string } | { ok: false; code: grpc.status; details: string }) & { ms: number };

type UnaryMethod = (request: { name: string }, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply: HelloReply) => void) => void;
export type PolicyClient = grpc.Client & Record<MethodName, UnaryMethod>;

const PolicyClientCtor = grpc.makeGenericClientConstructor(METHODS as unknown as grpc.ServiceDefinition, "Greeter");

/** A client of both methods for `target`; its channel options may carry an xDS bootstrap. */
export function policyClient(target: string, options: grpc.ChannelOptions = {}): PolicyClient {
  return new PolicyClientCtor(target, grpc.credentials.createInsecure(), options) as unknown as PolicyClient;
}

export function callMethod(client: PolicyClient, method: MethodName, options: { deadlineMs?: number; headers?: Record<string, string> } = {}): Promise<Outcome> {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(options.headers ?? {})) metadata.set(key, value);
  const started = performance.now();
  return new Promise((resolve) => {
    client[method]({ name: "policy" }, metadata, { deadline: Date.now() + (options.deadlineMs ?? 2000) }, (err, reply) => {
      const ms = performance.now() - started;
      resolve(err ? { ok: false, code: err.code, details: err.details, ms } : { ok: true, backend: reply.backend, ms });
    });
  });
}
