/**
 * A child process holding a STOCK @grpc/grpc-js-xds client: it reads its
 * bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG (as any app would from its
 * environment) and runs commands sent as JSON lines on stdin, answering each
 * with one JSON line on stdout.
 *   {"op":"call","target":"xds:///greeter","count":5,"deadlineMs":1000}
 *   {"op":"reset"}   (drops the channel; the next call makes a new one)
 */
import * as grpc from "@grpc/grpc-js";
import * as grpcXds from "@grpc/grpc-js-xds";
import { createInterface } from "node:readline";
import { loadGreeter, type HelloReply } from "./greeter.js";

grpcXds.register();
const Greeter = loadGreeter();
const clients = new Map<string, grpc.Client>();

export type CallResult = { ok: true; backend: string } | { ok: false; code: number; details: string };

function clientFor(target: string): grpc.Client {
  let client = clients.get(target);
  if (!client) {
    client = new Greeter(target, grpc.credentials.createInsecure());
    clients.set(target, client);
  }
  return client;
}

function callOnce(target: string, deadlineMs: number): Promise<CallResult> {
  const client = clientFor(target) as grpc.Client & { SayHello: Function };
  return new Promise((resolve) => {
    client.SayHello({ name: "test" }, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, reply: HelloReply) => {
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, backend: reply.backend });
    });
  });
}

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const cmd = JSON.parse(line) as { op: string; target?: string; count?: number; deadlineMs?: number };
  if (cmd.op === "reset") {
    for (const c of clients.values()) c.close();
    clients.clear();
    process.stdout.write(JSON.stringify({ ok: true }) + "\n");
    return;
  }
  const results: CallResult[] = [];
  for (let i = 0; i < (cmd.count ?? 1); i++) results.push(await callOnce(cmd.target ?? "xds:///greeter", cmd.deadlineMs ?? 1000));
  process.stdout.write(JSON.stringify({ results }) + "\n");
});
lines.on("close", () => process.exit(0));
