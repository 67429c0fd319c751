/**
 * A stock grpc-js-xds Greeter for the mTLS tests (xds-mtls, mtls-serve): a
 * client that takes its bootstrap in-process, one call and "call until",
 * and an XdsServer whose Greeter answers with the caller's verified
 * certificate SANs (its SPIFFE ID under mTLS).
 */
import * as grpc from "@grpc/grpc-js";
import { loadGreeter, type HelloReply } from "./greeter.js";

/** The channel (and server) option grpc-js-xds reads a bootstrap from instead of GRPC_XDS_BOOTSTRAP. */
export const BOOTSTRAP_KEY = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";

export type Result = { ok: true; message: string } | { ok: false; code: number; details: string };
export type GreeterClient = grpc.Client & {
  SayHello(request: { name: string }, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply: HelloReply) => void): void;
};

const Greeter = loadGreeter();

/** A Greeter client for `target`, with `bootstrap` as its xDS bootstrap when given; pushed onto `made` so the test can close it. */
export function greeterClient(made: grpc.Client[], target: string, credentials: grpc.ChannelCredentials, bootstrap?: object): GreeterClient {
  const client = new Greeter(target, credentials, bootstrap ? { [BOOTSTRAP_KEY]: JSON.stringify(bootstrap) } : {});
  made.push(client);
  return client as unknown as GreeterClient;
}

export function call(client: GreeterClient, deadlineMs = 1500): Promise<Result> {
  return new Promise((resolve) => {
    client.SayHello({ name: "t" }, { deadline: Date.now() + deadlineMs }, (err, reply) =>
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, message: reply.message }),
    );
  });
}

/** Calls until `done` holds (a push takes a moment to reach both ends); returns the last result and how many calls it took. */
export async function callUntil(client: GreeterClient, done: (r: Result) => boolean, timeoutMs = 20_000): Promise<{ last: Result; calls: number }> {
  const end = Date.now() + timeoutMs;
  for (let calls = 1; ; calls++) {
    const last = await call(client);
    if (done(last) || Date.now() > end) return { last, calls };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A stock XdsServer (XdsServerCredentials over insecure fallback) with
 * `bootstrap`, bound to 127.0.0.1:`port` (an XdsServer asks for the Listener
 * named after the address it binds). Its Greeter answers with the caller's
 * verified certificate SANs ("" without one), each also pushed onto `seen`.
 */
export async function startSpiffeEchoServer(xdsModule: typeof import("@grpc/grpc-js-xds"), bootstrap: object, port: number, seen: string[]): Promise<grpc.Server> {
  const server = new xdsModule.XdsServer({ [BOOTSTRAP_KEY]: JSON.stringify(bootstrap), drainGraceTimeMs: 200 } as never);
  server.addService(Greeter.service, {
    SayHello(onServer: grpc.ServerUnaryCall<{ name: string }, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
      // What grpc-js exposes of the caller: the verified peer certificate of the TLS connection.
      const peer = onServer.getAuthContext()?.sslPeerCertificate?.subjectaltname ?? "";
      seen.push(peer);
      callback(null, { message: peer, backend: "orders-1" });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, new xdsModule.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (err) => (err ? reject(err) : resolve())),
  );
  return server;
}
