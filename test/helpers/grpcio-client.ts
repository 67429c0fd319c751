import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { CallResult } from "./grpc-client.js";

const CHILD = fileURLToPath(new URL("./grpcio-client-child.py", import.meta.url));
/** Debian's interpreter: python3-grpcio is installed for it, not for a pyenv `python3` that may come first on PATH. */
export const DEBIAN_PYTHON = "/usr/bin/python3";

/**
 * Why the grpcio tests cannot run here, or undefined when they can: Debian's
 * python3-grpcio must be importable by /usr/bin/python3 (.ci/run installs it).
 */
export function grpcioMissing(): string | undefined {
  const probe = spawnSync(DEBIAN_PYTHON, ["-c", "import grpc"], { encoding: "utf8" });
  if (probe.error) return `${DEBIAN_PYTHON} cannot run (${probe.error.message}); install the Debian package python3-grpcio`;
  if (probe.status !== 0) return `${DEBIAN_PYTHON} has no grpc module; install the Debian package python3-grpcio`;
  return undefined;
}

/** One grpcio call's result with its wall time in the child. */
export type TimedCallResult = CallResult & { ms: number };

/** What `GrpcioProcess.callMethod` sends with each call. */
export interface CallOptions {
  readonly count?: number;
  readonly deadlineMs?: number;
  /** Request metadata, sent with every call (lowercase keys). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A stock Python grpcio client in its own process (test/helpers/grpcio-client-child.py). */
export interface GrpcioProcess {
  /** grpc.__version__ as the child reported it. */
  readonly version: string;
  /** Whether this grpcio has grpc.xds_channel_credentials. */
  readonly xdsChannelCredentials: boolean;
  /**
   * `count` RPCs one after another; `credentials` "xds" calls through
   * grpc.xds_channel_credentials (insecure fallback) instead of an insecure channel.
   */
  call(target: string, count: number, deadlineMs?: number, credentials?: "insecure" | "xds"): Promise<CallResult[]>;
  /**
   * `count` (default 1) RPCs of `method` one after another on the insecure
   * channel of `target`, each with `metadata`, each timed.
   */
  callMethod(target: string, method: "SayHello" | "SayHelloAgain", options?: CallOptions): Promise<TimedCallResult[]>;
  /** Calls until `done(result)` holds or `timeoutMs` passes; returns the last result. */
  callUntil(target: string, done: (r: CallResult) => boolean, timeoutMs?: number, credentials?: "insecure" | "xds"): Promise<CallResult>;
  /** Closes the channels; the next call makes new ones (the process's xDS client stays). */
  reset(): Promise<void>;
  stop(): Promise<void>;
  /** Everything the child wrote to stderr (C-core logs, with GRPC_VERBOSITY / GRPC_TRACE in `env`). */
  stderr(): string;
}

/** Starts the child with `bootstrap` as GRPC_XDS_BOOTSTRAP_CONFIG and waits for its version line. */
export async function startGrpcioProcess(bootstrap: object, env: Record<string, string> = {}): Promise<GrpcioProcess> {
  const childEnv = { ...(process.env as Record<string, string>), ...env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) };
  const child = spawn(DEBIAN_PYTHON, [CHILD], { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
  let errText = "";
  child.stderr.on("data", (d: Buffer) => (errText += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on("line", (line) => waiting.shift()?.(line));

  function next<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`grpcio child exited: ${errText.slice(-2000)}`));
      child.once("exit", onExit);
      waiting.push((line) => {
        child.off("exit", onExit);
        resolve(JSON.parse(line) as T);
      });
    });
  }
  function send<T>(cmd: object): Promise<T> {
    const reply = next<T>();
    child.stdin.write(JSON.stringify(cmd) + "\n");
    return reply;
  }

  const { grpc: version, xdsChannelCredentials } = await next<{ grpc: string; xdsChannelCredentials: boolean }>();
  const api: GrpcioProcess = {
    version,
    xdsChannelCredentials,
    async call(target, count, deadlineMs = 1000, credentials = "insecure") {
      return (await send<{ results: CallResult[] }>({ op: "call", target, count, deadlineMs, credentials })).results;
    },
    async callMethod(target, method, { count = 1, deadlineMs = 1000, metadata = {} } = {}) {
      return (await send<{ results: TimedCallResult[] }>({ op: "call", target, count, deadlineMs, method, metadata, timed: true })).results;
    },
    async callUntil(target, done, timeoutMs = 10_000, credentials = "insecure") {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const [result] = await api.call(target, 1, 1000, credentials);
        if (done(result!) || Date.now() > end) return result!;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async reset() {
      await send({ op: "reset" });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
    stderr: () => errText,
  };
  return api;
}
