/**
 * A tiny request/response protocol over Node's child-process IPC channel,
 * shared by the bench's server child and client workers: the parent calls
 * `child.call(cmd, args)`, the child's handler answers. Every child started
 * here is killed by `kill()` and, as a last resort, when the parent exits.
 */
import { fork, type ChildProcess } from "node:child_process";

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}
interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface BenchChild {
  readonly pid: number;
  /** Sends a command; resolves with the child's answer, rejects on its error, its exit, or after `timeoutMs`. */
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** The first message the child sends unasked (its "ready" line), resolved once. */
  readonly ready: Promise<unknown>;
  /** SIGKILL, idempotent. */
  kill(): void;
  readonly exited: Promise<number | null>;
}

/** Forks `file` (a .ts module) under tsx with IPC. */
export function forkChild(file: string, argv: string[], execArgv: string[] = []): BenchChild {
  const child = fork(file, argv, { execArgv: ["--import", "tsx", ...execArgv], stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
  live.add(child);
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  let readyResolve!: (v: unknown) => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<unknown>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  ready.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      live.delete(child);
      const err = new Error(`bench child ${file} exited (code ${code})`);
      readyReject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      resolve(code);
    }),
  );
  child.on("message", (message: unknown) => {
    if (typeof message === "object" && message !== null && typeof (message as { id?: unknown }).id === "number") {
      const reply = message as Reply;
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(reply.error));
    } else {
      readyResolve(message);
    }
  });
  return {
    pid: child.pid ?? -1,
    ready,
    exited,
    call<T>(cmd: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
      const id = ++seq;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`bench child ${file}: ${cmd} took over ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, cmd, args } satisfies Request);
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** In a child: answers the parent's commands with `handler`, and exits when the parent goes away. */
export function serveParent(handler: (cmd: string, args: unknown) => unknown | Promise<unknown>): void {
  if (!process.send) throw new Error("not started with an IPC channel");
  process.on("disconnect", () => process.exit(0));
  process.on("message", (message: Request) => {
    void (async () => {
      let reply: Reply;
      try {
        reply = { id: message.id, ok: true, value: await handler(message.cmd, message.args) };
      } catch (err) {
        reply = { id: message.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) };
      }
      process.send!(reply);
    })();
  });
}

/** Unsolicited message from a child (its ready line). */
export function tellParent(value: unknown): void {
  process.send!(value);
}

/** Wall-clock milliseconds with sub-ms precision, comparable across processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Instance `i` of service `s` in the bench's registry: a unique address that is never dialled. */
export function instanceBody(s: number, i: number, weight = 1) {
  return { address: `10.${Math.floor(s / 250)}.${s % 250}.${i + 1}`, port: 8080, weight, zone: `z${i % 3}`, region: "r1" };
}
