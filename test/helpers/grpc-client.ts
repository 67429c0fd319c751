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

/** How long a client child may take to start and answer its first call (a busy 2-core machine can take 20 s). */
const CHILD_START_CAP_MS = 60_000;

export function startClientProcess(options: ClientProcessOptions): ClientProcess {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...options.env };
  if (options.bootstrap) env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(options.bootstrap);
  if (options.steady) env.STEADY_OPTIONS = JSON.stringify(options.steady);
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD], { env, stdio: ["pipe", "pipe", "pipe"] });
  let errText = "";
  child.stderr!.on("data", (d: Buffer) => (errText += d.toString()));
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  /** Whether the child has answered anything yet (it has started). */
  let answered = false;
  lines.on("line", (line) => waiting.shift()?.(line));

  function send<T>(cmd: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`client child exited: ${errText.slice(-2000)}`));
      child.once("exit", onExit);
      waiting.push((line) => {
        answered = true;
        child.off("exit", onExit);
        resolve(JSON.parse(line) as T);
      });
      child.stdin!.write(JSON.stringify(cmd) + "\n");
    });
  }

  /** The child's first answer, or a failure naming its stderr after CHILD_START_CAP_MS. */
  function withStartCap<T>(first: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`client child did not answer within ${CHILD_START_CAP_MS} ms of its start: ${errText.slice(-2000)}`)), CHILD_START_CAP_MS);
    });
    return Promise.race([first, cap]).finally(() => clearTimeout(timer));
  }

  const api: ClientProcess = {
    async call(target, count, deadlineMs = 1000) {
      return (await send<{ results: CallResult[] }>({ op: "call", target, count, deadlineMs })).results;
    },
    async callUntil(target, done, timeoutMs = 10_000) {
      // Until the child has answered once, the budget counts from its first answer: it measures the
      // client reaching its servers, not how long a busy machine took to start a node process
      // (that has its own cap). After that it counts from now.
      let end = answered ? Date.now() + timeoutMs : undefined;
      for (;;) {
        const [result] = end === undefined ? await withStartCap(api.call(target, 1, 1000)) : await api.call(target, 1, 1000);
        end ??= Date.now() + timeoutMs;
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
