import { spawn, type ChildProcess } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { SteadyEvent, SteadyResolverOptions, SteadyStats } from "../../src/client/index.js";
import type { CallResult, LoadResult } from "./grpc-client-child.js";

export type { CallResult, LoadResult };

const CHILD = fileURLToPath(new URL("./grpc-client-child.ts", import.meta.url));

/** Real gRPC clients (stock xDS and/or steady) living in their own process. */
export interface ClientProcess {
  call(target: string, count: number, deadlineMs?: number): Promise<CallResult[]>;
  /** Calls until `done(result)` holds or `timeoutMs` passes; returns the last result. */
  callUntil(target: string, done: (r: CallResult) => boolean, timeoutMs?: number): Promise<CallResult>;
  /** An open-loop load of `rps` RPCs per second for `ms`. */
  load(target: string, rps: number, ms: number, deadlineMs?: number): Promise<LoadResult>;
  events(): Promise<{ events: SteadyEvent[]; stats?: SteadyStats; sources?: Record<string, string> }>;
  reset(): Promise<void>;
  stop(): Promise<void>;
  /** Everything the child wrote to stderr (grpc logs). */
  stderr(): string;
}

export interface ClientProcessOptions {
  /** Bootstrap for the stock grpc-js-xds client (as `steadymesh bootstrap` prints it). */
  readonly bootstrap?: object;
  /** Options for registerSteadyResolver (without hooks; events are collected in the child). */
  readonly steady?: Omit<SteadyResolverOptions, "logger" | "onEvent">;
  readonly env?: Record<string, string>;
}

export function startClientProcess(options: ClientProcessOptions): ClientProcess {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...options.env };
  if (options.bootstrap) env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(options.bootstrap);
  if (options.steady) env.STEADY_OPTIONS = JSON.stringify(options.steady);
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD], { env, stdio: ["pipe", "pipe", "pipe"] });
  let errText = "";
  child.stderr!.on("data", (d: Buffer) => (errText += d.toString()));
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on("line", (line) => waiting.shift()?.(line));

  function send<T>(cmd: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`client child exited: ${errText.slice(-2000)}`));
      child.once("exit", onExit);
      waiting.push((line) => {
        child.off("exit", onExit);
        resolve(JSON.parse(line) as T);
      });
      child.stdin!.write(JSON.stringify(cmd) + "\n");
    });
  }

  const api: ClientProcess = {
    async call(target, count, deadlineMs = 1000) {
      return (await send<{ results: CallResult[] }>({ op: "call", target, count, deadlineMs })).results;
    },
    async callUntil(target, done, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const [result] = await api.call(target, 1, 1000);
        if (done(result!) || Date.now() > end) return result!;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    load: (target, rps, ms, deadlineMs = 1000) => send<LoadResult>({ op: "load", target, rps, ms, deadlineMs }),
    events: () => send({ op: "events" }),
    async reset() {
      await send({ op: "reset" });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
    stderr: () => errText,
  };
  return api;
}
