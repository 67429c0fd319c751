/**
 * Where the suite keeps every log it produces, so that test/run.sh can grep
 * them for admin tokens at the end (issue 16: "No token appears in any log
 * line during the whole test suite"). test/run.sh sets
 * STEADYMESH_TEST_LOG_DIR; without it (a single file run by hand) nothing is
 * written and the loggers stay silent.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { basename, join } from "node:path";
import { pino } from "pino";
import { createSilentLogger, type Logger } from "../../src/log/index.js";

/** The environment variable test/run.sh sets to a fresh directory. */
export const TEST_LOG_DIR_ENV = "STEADYMESH_TEST_LOG_DIR";

export function testLogDir(): string | undefined {
  return process.env[TEST_LOG_DIR_ENV] || undefined;
}

let sequence = 0;

/** A new file in the log dir for `label` (one per process and call: no two writers share a file). */
function logFile(label: string): WriteStream | undefined {
  const dir = testLogDir();
  if (dir === undefined) return undefined;
  const safe = label.replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, 60);
  const name = `${basename(process.argv[1] ?? "node")}-${process.pid}-${++sequence}-${safe}.log`;
  return createWriteStream(join(dir, name), { flags: "a" });
}

/**
 * Copies what `child` writes into one file of the log dir. `secretStdout`:
 * its standard output is a secret by contract (`steadymesh token create`
 * prints the new token alone there), so only standard error is kept.
 */
export function teeChildOutput(child: ChildProcess, label: string, options: { secretStdout?: boolean } = {}): void {
  const file = logFile(label);
  if (file === undefined) return;
  if (!options.secretStdout) child.stdout?.on("data", (d: Buffer) => file.write(d));
  child.stderr?.on("data", (d: Buffer) => file.write(d));
  child.once("close", () => file.end());
}

/**
 * The logger for a control plane a test runs in this process: JSON lines at
 * info into the log dir under test/run.sh (the level a deployment runs at),
 * silent otherwise.
 */
export function testLogger(label: string): Logger {
  const file = logFile(label);
  if (file === undefined) return createSilentLogger();
  return pino({ level: "info", base: { name: "steadymesh" } }, file);
}
