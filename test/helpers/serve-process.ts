import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { teeChildOutput } from "./test-logs.js";

const BIN = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));

/** `steadymesh serve` running as its own process, from the TypeScript sources. */
export interface ServeProcess {
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly dnsPort: number;
  readonly adminUrl: string;
  /** Its data dir: `--data-dir` when given, else a temporary one removed once it stopped. */
  readonly dataDir: string;
  /**
   * The operator token in `<dataDir>/admin-token`; undefined with `--auth off`, or when
   * the token store already had tokens (another replica on the same etcd made the first one).
   */
  readonly adminToken: string | undefined;
  /** The Authorization header of adminToken (none without one), plus `extra`. */
  headers(extra?: Record<string, string>): Record<string, string>;
  /** The exact lines it printed on stdout while starting. */
  readonly lines: readonly string[];
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  stderr(): string;
}

/**
 * Runs the CLI from source with the given arguments (through tsx), with
 * `env` added to this process's environment. Its output also goes to the
 * suite's log dir (test/helpers/test-logs.ts), except the standard output of
 * `token create`, which is the new token by contract.
 */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  teeChildOutput(child, args.slice(0, 2).join("-"), { secretStdout: args[0] === "token" && args[1] === "create" });
  return child;
}

/**
 * Starts `steadymesh serve --xds-port 0 --admin-port 0 --dns-port 0 ARGS` and
 * waits for all three listener lines. Without `--data-dir` in ARGS it gets a
 * temporary one, so no test writes `./.steadymesh/admin-token`.
 */
export async function startServeProcess(args: readonly string[]): Promise<ServeProcess> {
  const given = args.indexOf("--data-dir");
  const temporary = given === -1 ? mkdtempSync(join(tmpdir(), "steadymesh-serve-")) : undefined;
  const dataDir = given === -1 ? temporary! : args[given + 1]!;
  const child = spawnCli(["serve", "--xds-port", "0", "--admin-port", "0", "--dns-port", "0", ...(temporary ? ["--data-dir", temporary] : []), ...args]);
  let errText = "";
  child.stderr!.on("data", (d: Buffer) => (errText += d.toString()));
  const lines: string[] = [];
  const ports = new Map<string, number>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s: ${errText.slice(-2000)}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${errText.slice(-2000)}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push(line);
      const m = /^steadymesh: (xds|admin|dns) listening on (.+):(\d+)$/.exec(line);
      if (m) ports.set(m[1]!, Number(m[3]));
      if (ports.has("xds") && ports.has("admin") && ports.has("dns")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const adminPort = ports.get("admin")!;
  const tokenFile = join(dataDir, "admin-token");
  const adminToken = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : undefined;
  const removeTemporary = () => temporary && rmSync(temporary, { recursive: true, force: true });
  child.once("exit", removeTemporary);
  return {
    dataDir,
    adminToken,
    headers: (extra = {}) => (adminToken === undefined ? extra : { authorization: `Bearer ${adminToken}`, ...extra }),
    xdsPort: ports.get("xds")!,
    adminPort,
    dnsPort: ports.get("dns")!,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    lines,
    stderr: () => errText,
    stop(signal = "SIGTERM") {
      // Already gone (exited, or killed by a signal: then exitCode stays null).
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        child.once("exit", (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
