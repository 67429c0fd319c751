import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const PROTO = fileURLToPath(new URL("../../examples/greeter.proto", import.meta.url));

export interface HelloReply {
  message: string;
  backend: string;
}

/** The Greeter client constructor, loaded from the fixture proto. */
export function loadGreeter(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(PROTO, { keepCase: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { steadymesh: { test: { Greeter: grpc.ServiceClientConstructor } } };
  return pkg.steadymesh.test.Greeter;
}

export interface Backend {
  readonly id: string;
  readonly port: number;
  /** RPCs this backend has answered. */
  readonly calls: () => number;
  stop(): Promise<void>;
}

/** A real gRPC Greeter server on 127.0.0.1 (free port) that answers with `id`. */
export async function startBackend(id: string): Promise<Backend> {
  const Greeter = loadGreeter();
  const server = new grpc.Server();
  let calls = 0;
  server.addService(Greeter.service, {
    SayHello(call: grpc.ServerUnaryCall<{ name: string }, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
      calls++;
      callback(null, { message: `hello ${call.request.name}`, backend: id });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    id,
    port,
    calls: () => calls,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
