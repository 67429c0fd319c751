import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SteadyError } from "../../errors/index.js";

/** A `steadymesh serve` process the lab started, on fixed ports so a restart keeps them. */
export interface ControlPlaneProcess {
  /** The lab's name for it (`primary`, `guarded`). */
  readonly name: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly dnsPort: number;
  readonly adminUrl: string;
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
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly dnsPort: number;
}

/** The command that runs this package's CLI: from src/ through tsx, or the compiled dist/. */
function cliCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith(".ts")
    ? ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("../../cli/bin.ts", import.meta.url))]
    : [fileURLToPath(new URL("../../cli/bin.js", import.meta.url))];
}

export async function startControlPlaneProcess(options: ControlPlaneOptions): Promise<ControlPlaneProcess> {
  let child: ChildProcess | undefined;
  const args = [
    ...cliCommand(), "serve", "--enable-faults", "--data-dir", options.dataDir,
    "--xds-port", String(options.xdsPort), "--admin-port", String(options.adminPort), "--dns-port", String(options.dnsPort),
    ...(options.guard ? [] : ["--no-guard"]),
  ];

  async function start(): Promise<void> {
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, STEADYMESH_LOG_LEVEL: process.env.STEADYMESH_LOG_LEVEL ?? "warn" } });
    let errText = "";
    proc.stderr!.on("data", (d: Buffer) => (errText = (errText + d.toString()).slice(-8192)));
    await new Promise<void>((resolve, reject) => {
      let lines = 0;
      const onExit = (code: number | null) => reject(new SteadyError("unavailable", `the lab's ${options.name} control plane exited (${code}) before it was ready: ${errText.trim().split("\n").pop() ?? ""}`));
      proc.once("exit", onExit);
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        if (/^steadymesh: (xds|admin|dns) listening on /.test(line) && ++lines === 3) {
          proc.off("exit", onExit);
          resolve();
        }
      });
    });
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
  return {
    ...options,
    adminUrl: `http://127.0.0.1:${options.adminPort}`,
    running: () => child !== undefined,
    kill: () => signal("SIGKILL"),
    restart: async () => {
      if (!child) await start();
    },
    stop: () => signal("SIGTERM"),
  };
}
