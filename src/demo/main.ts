/**
 * A demo process: `node --import tsx src/demo/main.ts <accounts|login|playback|gateway> [flags]`
 * (or `node dist/demo/main.js …`). Prints `demo: <kind> <id> listening on
 * 127.0.0.1:<port>` once ready; logs (JSON) go to stderr; bad input exits 1
 * with one line, `demo: error: <what is wrong and what is allowed>`.
 */
import { createSystemClock } from "../clock/index.js";
import { createLogger } from "../log/index.js";
import { parseDemoArgs } from "./cli.js";
import { runDemo } from "./run-demo.js";

async function main(): Promise<number> {
  const config = await parseDemoArgs(process.argv, process.stdout, process.env);
  if (!config) return 0;
  const registerXds = config.discovery === "xds" && (config.kind === "gateway" || config.kind === "login") ? await loadXds() : undefined;
  return runDemo(config, {
    stdout: process.stdout,
    logger: createLogger(),
    clock: createSystemClock(),
    signals: { once: (s, fn) => void process.once(s, fn), off: (s, fn) => void process.off(s, fn) },
    exit: (code) => process.exit(code),
    ...(registerXds && { registerXds }),
  });
}

async function loadXds(): Promise<() => void> {
  const xds = await import("@grpc/grpc-js-xds");
  return () => xds.register();
}

// xDS and resolver streams keep the event loop alive, so the exit is explicit.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
