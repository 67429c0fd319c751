import * as grpc from "@grpc/grpc-js";
import type { Clock } from "../clock/index.js";

/** A listening demo server: its port, and a way to stop it. */
export interface Listening {
  readonly port: number;
  /** Stops accepting calls, lets calls in flight finish for up to `graceMs`, then ends them. */
  close(): Promise<void>;
}

export type ServiceBinding = [grpc.ServiceDefinition, grpc.UntypedServiceImplementation];

/** Serves `services` on 127.0.0.1:`port` (0 picks a free port). */
export async function startGrpcServer(services: readonly ServiceBinding[], port: number, clock: Clock, graceMs = 2000): Promise<Listening> {
  const server = new grpc.Server();
  for (const [definition, implementation] of services) server.addService(definition, implementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        const cancel = clock.setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          cancel();
          resolve();
        });
      }),
  };
}
