import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createSystemClock, type Clock } from "../clock/index.js";
import { SteadyError } from "../errors/index.js";
import { READY_LINE, type DemoKind, type DiscoveryMode } from "./kinds.js";

/**
 * What to start. Each field becomes the flag of the same name (see
 * `main.ts <kind> --help`) for the kinds that take it, and is left out for
 * the others: discovery, DNS, deadline and secret fields apply to login and
 * gateway, `users` to accounts, `tokenTtlS` and `fail` to login, `register`
 * and `metadata` to all but gateway.
 */
export interface DemoSpawnOptions {
  readonly id: string;
  /** 0 (the default) picks a free port; `DemoProcess.port` tells which. */
  readonly port?: number;
  /** The admin API to register in; several: register in each (one control plane per URL). */
  readonly admin?: string | readonly string[];
  /** Files holding the admin API token: one for every `admin`, or one per `admin` in the same order. */
  readonly adminTokenFiles?: readonly string[];
  /** false: do not register in steadymesh (gateways never do). */
  readonly register?: boolean;
  /** Instance metadata registered with it (`--metadata KEY=VALUE`), e.g. `{ version: "2" }`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** login: fail every Login call with this gRPC status name (`--fail`), as a bad release would. */
  readonly fail?: string;
  /** login and gateway: how their upstream (accounts, login) is found. */
  readonly discovery?: DiscoveryMode;
  readonly xds?: readonly string[];
  readonly nodeId?: string;
  readonly cacheDir?: string;
  /** A bootstrap object (as `buildBootstrap` makes), its JSON, or a file path. */
  readonly bootstrap?: object | string;
  readonly dnsServer?: string;
  readonly dnsDomain?: string;
  readonly dnsRefreshMs?: number;
  readonly deadlineMs?: number;
  readonly users?: number;
  readonly secret?: string;
  readonly tokenTtlS?: number;
  /** More flags, appended as given. */
  readonly extraArgs?: readonly string[];
  /** The child's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line (default 20 000 ms). */
  readonly readyTimeoutMs?: number;
}

export interface DemoExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running demo process. */
export interface DemoProcess {
  readonly kind: DemoKind;
  readonly id: string;
  readonly pid: number;
  readonly port: number;
  /** Settles when the process exits, however it exits. */
  readonly exited: Promise<DemoExit>;
  /** Sends SIGTERM (or SIGINT): it deregisters, stops and exits 0. Resolves on exit. */
  stop(signal?: "SIGTERM" | "SIGINT"): Promise<DemoExit>;
  /** SIGKILL: no deregistration, as in a crash. Resolves on exit. */
  kill(): Promise<DemoExit>;
  /** The last 64 KiB the process wrote to stderr (its JSON logs). */
  stderr(): string;
}

/** The demo process did not become ready: it exited, or said nothing in time. */
export class DemoStartError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

const STDERR_KEEP = 64 * 1024;

/** The command line for `kind`: arguments after the node executable. */
export function demoCommand(kind: DemoKind, options: DemoSpawnOptions): string[] {
  const here = fileURLToPath(import.meta.url);
  // From src/ (run by tsx) the child needs tsx too; from dist/ it is plain JavaScript.
  const entry = here.endsWith(".ts")
    ? ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("./main.ts", import.meta.url))]
    : [fileURLToPath(new URL("./main.js", import.meta.url))];
  return [...entry, kind, ...demoFlags(kind, options)];
}

/** Flags of `o` that `kind` takes; the others are left out, so one options object can serve every kind. */
function demoFlags(kind: DemoKind, o: DemoSpawnOptions): string[] {
  const flags: string[] = ["--id", o.id, "--port", String(o.port ?? 0)];
  const add = (name: string, value: string | number | undefined) => void (value !== undefined && flags.push(name, String(value)));
  for (const url of typeof o.admin === "string" ? [o.admin] : (o.admin ?? [])) flags.push("--admin", url);
  for (const file of o.adminTokenFiles ?? []) flags.push("--admin-token-file", file);
  if (kind !== "gateway" && o.register === false) flags.push("--no-register");
  if (kind !== "gateway") for (const [key, value] of Object.entries(o.metadata ?? {})) flags.push("--metadata", `${key}=${value}`);
  if (kind === "login") add("--fail", o.fail);
  if (kind === "accounts") add("--users", o.users);
  if (kind === "login") add("--token-ttl-s", o.tokenTtlS);
  if (kind === "login" || kind === "gateway") {
    add("--discovery", o.discovery);
    if (o.xds && o.xds.length > 0) flags.push("--xds", ...o.xds);
    add("--node-id", o.nodeId);
    add("--cache-dir", o.cacheDir);
    add("--bootstrap", typeof o.bootstrap === "object" ? JSON.stringify(o.bootstrap) : o.bootstrap);
    add("--dns-server", o.dnsServer);
    add("--dns-domain", o.dnsDomain);
    add("--dns-refresh-ms", o.dnsRefreshMs);
    add("--deadline-ms", o.deadlineMs);
    add("--secret", o.secret);
  }
  return [...flags, ...(o.extraArgs ?? [])];
}

/**
 * Starts a demo process and resolves once it printed its ready line (it is
 * serving and, unless told not to, registered). Rejects with DemoStartError,
 * carrying the tail of its stderr, if it exits first or is not ready in
 * time (then it is killed).
 */
export async function spawnDemo(kind: DemoKind, options: DemoSpawnOptions, clock: Clock = createSystemClock()): Promise<DemoProcess> {
  const child = spawn(process.execPath, demoCommand(kind, options), { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let errText = "";
  // Always drained: a full pipe would block the child's logging.
  child.stderr.on("data", (chunk: Buffer) => {
    errText = (errText + chunk.toString()).slice(-STDERR_KEEP);
  });
  const exited = new Promise<DemoExit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const port = await waitForReady(kind, options, child.stdout, exited, () => errText, clock).catch((err: unknown) => {
    child.kill("SIGKILL");
    throw err;
  });
  const signal = (name: NodeJS.Signals): Promise<DemoExit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return exited;
  };
  return {
    kind,
    id: options.id,
    pid: child.pid!,
    port,
    exited,
    stop: (name = "SIGTERM") => signal(name),
    kill: () => signal("SIGKILL"),
    stderr: () => errText,
  };
}

function waitForReady(
  kind: DemoKind,
  options: DemoSpawnOptions,
  stdout: NodeJS.ReadableStream,
  exited: Promise<DemoExit>,
  stderr: () => string,
  clock: Clock,
): Promise<number> {
  const what = `demo ${kind} ${options.id}`;
  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const cancel = clock.setTimeout(() => reject(new DemoStartError(`${what} was not ready in ${timeoutMs} ms: ${lastLine(stderr())}`)), timeoutMs);
    void exited.then(({ code, signal }) => {
      cancel();
      reject(new DemoStartError(`${what} exited (${signal ?? `code ${code}`}) before it was ready: ${lastLine(stderr())}`));
    });
    createInterface({ input: stdout }).on("line", (line) => {
      const match = READY_LINE.exec(line);
      if (!match) return;
      cancel();
      resolve(Number(match[3]));
    });
  });
}

/** The last non-empty line: the one-line error of a demo that failed to start. */
function lastLine(text: string): string {
  return text.trimEnd().split("\n").pop() || "(nothing on stderr)";
}
