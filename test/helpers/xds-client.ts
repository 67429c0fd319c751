import { spawn, type ChildProcess } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { CallResult } from "./xds-client-child.js";

export type { CallResult };

const CHILD = fileURLToPath(new URL("./xds-client-child.ts", import.meta.url));

/** Drives a stock grpc-js-xds client living in its own process. */
export interface StockXdsClient {
  call(target: string, count: number, deadlineMs?: number): Promise<CallResult[]>;
  /** Calls until `done(result)` holds or `timeoutMs` passes; returns the last result. */
  callUntil(target: string, done: (r: CallResult) => boolean, timeoutMs?: number): Promise<CallResult>;
  reset(): Promise<void>;
  stop(): Promise<void>;
  /** Everything the child wrote to stderr (grpc trace/logs). */
  stderr(): string;
}

/** Starts a child process with a stock @grpc/grpc-js-xds client, bootstrapped with `bootstrap`. */
export function startStockXdsClient(bootstrap: object, extraEnv: Record<string, string> = {}): StockXdsClient {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), ...extraEnv },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let errText = "";
  child.stderr!.on("data", (d: Buffer) => (errText += d.toString()));
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on("line", (line) => waiting.shift()?.(line));

  function send<T>(cmd: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`xds client child exited: ${errText.slice(-2000)}`));
      child.once("exit", onExit);
      waiting.push((line) => {
        child.off("exit", onExit);
        resolve(JSON.parse(line) as T);
      });
      child.stdin!.write(JSON.stringify(cmd) + "\n");
    });
  }

  const api: StockXdsClient = {
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
    async reset() {
      await send({ op: "reset" });
    },
    async stop() {
      if (child.exitCode !== null) return;
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
