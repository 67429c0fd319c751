/**
 * A child process holding real gRPC clients, as an application would:
 * - the STOCK @grpc/grpc-js-xds client (`xds:///…`), bootstrapped only from
 *   GRPC_XDS_BOOTSTRAP_CONFIG, when that variable is set;
 * - steadymesh's resolver (`steady:///…`), when STEADY_OPTIONS (JSON) is set.
 * Commands arrive as JSON lines on stdin; each gets one JSON line on stdout.
 *   {"op":"call","target":"xds:///greeter","count":5,"deadlineMs":1000}
 *   {"op":"load","target":"steady:///greeter","rps":25,"ms":10000,"deadlineMs":1000}
 *   {"op":"events"}   (steady resolver events so far, and its stats)
 *   {"op":"reset"}    (drops the channels; the next call makes new ones)
 */
import * as grpc from "@grpc/grpc-js";
import * as grpcXds from "@grpc/grpc-js-xds";
import { createInterface } from "node:readline";
import { registerSteadyResolver, type SteadyEvent, type SteadyResolverHandle } from "../../src/client/index.js";
import { loadGreeter, type HelloReply } from "./greeter.js";

export type CallResult = { ok: true; backend: string } | { ok: false; code: number; details: string };
export interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Up to 5 distinct failure messages, with counts. */
  readonly errors: Record<string, number>;
  readonly backends: Record<string, number>;
}

if (process.env.GRPC_XDS_BOOTSTRAP_CONFIG) grpcXds.register();
const events: SteadyEvent[] = [];
let steady: SteadyResolverHandle | undefined;
if (process.env.STEADY_OPTIONS) {
  steady = registerSteadyResolver({ ...JSON.parse(process.env.STEADY_OPTIONS), onEvent: (e: SteadyEvent) => events.push(e) });
}
const Greeter = loadGreeter();
/** The test Greeter as makeGenericClientConstructor makes it (grpc-js types its methods as `any`). */
type GreeterClient = grpc.Client & {
  SayHello(request: { name: string }, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply: HelloReply) => void): grpc.ClientUnaryCall;
};
const clients = new Map<string, grpc.Client>();

function clientFor(target: string): GreeterClient {
  let client = clients.get(target);
  if (!client) {
    client = new Greeter(target, grpc.credentials.createInsecure());
    clients.set(target, client);
  }
  return client as GreeterClient;
}

function callOnce(target: string, deadlineMs: number): Promise<CallResult> {
  return new Promise((resolve) => {
    clientFor(target).SayHello({ name: "test" }, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, reply: HelloReply) => {
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, backend: reply.backend });
    });
  });
}

/**
 * Starts rps × ms/1000 RPCs, one every 1000/rps ms, without waiting for earlier
 * ones (an open-loop load). A timer that fires late (a busy machine) is caught
 * up at once, so the count never depends on how busy this process was.
 */
async function load(target: string, rps: number, ms: number, deadlineMs: number): Promise<LoadResult> {
  const pending: Promise<CallResult>[] = [];
  const start = Date.now();
  const total = Math.round((rps * ms) / 1000);
  for (let i = 0; i < total; i++) {
    pending.push(callOnce(target, deadlineMs));
    const due = start + ((i + 1) * 1000) / rps;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
  const results = await Promise.all(pending);
  const errors: Record<string, number> = {};
  const backends: Record<string, number> = {};
  for (const r of results) {
    if (r.ok) backends[r.backend] = (backends[r.backend] ?? 0) + 1;
    else if (Object.keys(errors).length < 5 || errors[`${grpc.status[r.code]}: ${r.details}`]) {
      const key = `${grpc.status[r.code]}: ${r.details}`;
      errors[key] = (errors[key] ?? 0) + 1;
    }
  }
  const ok = results.filter((r) => r.ok).length;
  return { sent: results.length, ok, failed: results.length - ok, errors, backends };
}

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const cmd = JSON.parse(line) as { op: string; target?: string; count?: number; deadlineMs?: number; rps?: number; ms?: number };
  const reply = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");
  switch (cmd.op) {
    case "reset":
      for (const c of clients.values()) c.close();
      clients.clear();
      return reply({ ok: true });
    case "events":
      return reply({ events, stats: steady?.stats(), sources: steady?.sources() });
    case "load":
      return reply(await load(cmd.target!, cmd.rps ?? 20, cmd.ms ?? 10_000, cmd.deadlineMs ?? 1000));
    default: {
      const results: CallResult[] = [];
      for (let i = 0; i < (cmd.count ?? 1); i++) results.push(await callOnce(cmd.target!, cmd.deadlineMs ?? 1000));
      return reply({ results });
    }
  }
});
// The xDS clients keep streams open for the life of the process: exit when the parent closes stdin.
lines.on("close", () => process.exit(0));
