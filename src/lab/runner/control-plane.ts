import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SteadyError } from "../../errors/index.js";

/**
 * A `steadymesh serve` process the lab started. Its first start binds ports
 * the kernel picks (port 0), read back from its "listening on" lines; a
 * restart binds the same ports again, as a restarted control plane would.
 */
export interface ControlPlaneProcess {
  /** The lab's name for it (`primary`, `guarded`). */
  readonly name: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly dnsPort: number;
  readonly adminUrl: string;
  /** `<dataDir>/admin-token`: the operator token serve wrote on its first start (and reuses on restarts). */
  readonly adminTokenFile: string;
  /** Headers that authenticate an admin API request (the token of adminTokenFile). */
  adminHeaders(): Record<string, string>;
  /** True between start and kill/stop. */
  running(): boolean;
  kill(): Promise<void>;
  /** Starts it again on the same ports and data dir (after kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  readonly name: string;
  /** false: `--no-guard`, so the push guard holds nothing (it still rejects what clients would NACK). */
  readonly guard: boolean;
  readonly dataDir: string;
}

/** The command that runs this package's CLI: from src/ through tsx, or the compiled dist/. */
function cliCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith(".ts")
    ? ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("../../cli/bin.ts", import.meta.url))]
    : [fileURLToPath(new URL("../../cli/bin.js", import.meta.url))];
}

type Listener = "xds" | "admin" | "dns";

/**
 * Starts `serve` on ports the kernel picks. Ports picked by the lab and
 * handed over were free only a moment before: under load another process's
 * outgoing connection could take one in between, and the control plane then
 * failed with EADDRINUSE.
 */
export async function startControlPlaneProcess(options: ControlPlaneOptions): Promise<ControlPlaneProcess> {
  let child: ChildProcess | undefined;
  const ports: Record<Listener, number> = { xds: 0, admin: 0, dns: 0 };

  async function start(): Promise<void> {
    const args = [
      ...cliCommand(), "serve", "--enable-faults", "--data-dir", options.dataDir,
      "--xds-port", String(ports.xds), "--admin-port", String(ports.admin), "--dns-port", String(ports.dns),
      ...(options.guard ? [] : ["--no-guard"]),
    ];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, STEADYMESH_LOG_LEVEL: process.env.STEADYMESH_LOG_LEVEL ?? "warn" } });
    let errText = "";
    proc.stderr!.on("data", (d: Buffer) => (errText = (errText + d.toString()).slice(-8192)));
    const learned = await new Promise<Record<Listener, number>>((resolve, reject) => {
      const seen = new Map<Listener, number>();
      const onExit = (code: number | null) =>
        reject(new SteadyError("unavailable", `the lab's ${options.name} control plane exited (${code}) before it was ready: ${whyItFailed(errText)}`));
      proc.once("exit", onExit);
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        const m = /^steadymesh: (xds|admin|dns) listening on .+:(\d+)$/.exec(line);
        if (m) seen.set(m[1] as Listener, Number(m[2]));
        if (seen.size === 3) {
          proc.off("exit", onExit);
          resolve({ xds: seen.get("xds")!, admin: seen.get("admin")!, dns: seen.get("dns")! });
        }
      });
    });
    Object.assign(ports, learned);
    child = proc;
  }

  function signal(name: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill(name);
    });
  }

  await start();
  const adminTokenFile = join(options.dataDir, "admin-token");
  // Written before serve printed its listening lines; the same token after every restart (the data dir keeps it).
  const adminToken = readFileSync(adminTokenFile, "utf8").trim();
  return {
    ...options,
    adminTokenFile,
    adminHeaders: () => ({ authorization: `Bearer ${adminToken}` }),
    xdsPort: ports.xds,
    adminPort: ports.admin,
    dnsPort: ports.dns,
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    running: () => child !== undefined,
    kill: () => signal("SIGKILL"),
    restart: async () => {
      if (!child) await start();
    },
    stop: () => signal("SIGTERM"),
  };
}

/** The CLI's own error line when there is one (log lines may follow it), else the last line of stderr. */
export function whyItFailed(stderr: string): string {
  const lines = stderr.trim().split("\n");
  return lines.filter((line) => line.startsWith("steadymesh: error:")).pop() ?? lines.pop() ?? "";
}
