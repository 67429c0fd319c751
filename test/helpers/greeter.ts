import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";

const PROTO = fileURLToPath(new URL("../../examples/greeter.proto", import.meta.url));
const CHILD = fileURLToPath(new URL("./greeter-child.ts", import.meta.url));

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
  /**
   * What its `grpc.health.v1.Health` service reports, for the whole server
   * (`""`) and every service name it was started with. The Greeter keeps
   * answering either way, as a degraded backend would.
   */
  setServing(status: ServingStatus): void;
  stop(): Promise<void>;
}

export interface BackendOptions {
  /** 0 (a free port) unless given; a restarted backend takes its old port. */
  readonly port?: number;
  /** Service names its health service answers SERVING for (besides `""`). */
  readonly healthServices?: readonly string[];
}

/** A real gRPC Greeter server on 127.0.0.1 that answers with `id`, beside a standard gRPC health service. */
export async function startBackend(id: string, options: BackendOptions = {}): Promise<Backend> {
  const Greeter = loadGreeter();
  const server = new grpc.Server();
  let calls = 0;
  server.addService(Greeter.service, {
    SayHello(call: grpc.ServerUnaryCall<{ name: string }, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
      calls++;
      callback(null, { message: `hello ${call.request.name}`, backend: id });
    },
  });
  const names = ["", ...(options.healthServices ?? [])];
  const health = new HealthImplementation(Object.fromEntries(names.map((name) => [name, "SERVING" as const])));
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    id,
    port,
    calls: () => calls,
    setServing: (status) => names.forEach((name) => health.setStatus(name, status)),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** A backend in a process of its own, so a test can SIGKILL it like a crashed server. */
export interface BackendProcess {
  readonly id: string;
  readonly port: number;
  setServing(status: ServingStatus): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Starts test/helpers/greeter-child.ts (a startBackend in its own process) and waits for its port. */
export async function spawnBackend(id: string, options: BackendOptions = {}): Promise<BackendProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify({ id, ...options })], { stdio: ["pipe", "pipe", "pipe"] });
  let errText = "";
  child.stderr!.on("data", (d: Buffer) => (errText += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const replies: ((line: string) => void)[] = [];
  lines.on("line", (line) => replies.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = () => reject(new Error(`backend ${id} exited: ${errText.slice(-2000)}`));
      child.once("exit", onExit);
      replies.push((line) => (child.off("exit", onExit), resolve(line)));
    });
  const { port } = JSON.parse(await next()) as { port: number };
  return {
    id,
    port,
    async setServing(status) {
      const reply = next();
      child.stdin!.write(`${status}\n`);
      await reply;
    },
    kill() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      });
    },
  };
}
