import type { Command } from "commander";
import { createLogger, type Logger } from "../../log/index.js";
// options.ts, not the server index: see serve-flags.ts.
import type { RunningServer, ServeOptions } from "../../server/options.js";
import type { CliContext, SignalSource, StopSignal } from "../context.js";
import { formatHostPort } from "../parse.js";
import { onFirstSignal, processSignals } from "../signals.js";
import { addServeFlags, checkServeFlags, toServeOptions, type ServeFlags } from "./serve-flags.js";

/**
 * `steadymesh serve`: runs the control plane until SIGINT or SIGTERM, then
 * closes it gracefully; a second signal while closing exits at once.
 * Prints exactly one `steadymesh: <listener> listening on <host>:<port>`
 * line per listener on stdout; logs go to stderr.
 */
export function addServeCommand(program: Command, context: CliContext): void {
  const command = program.command("serve").description("run the control plane: registry, xDS server, push guard, admin API and DNS server");
  addServeFlags(command).action(async (flags: ServeFlags) => {
    checkServeFlags(flags);
    await serve(flags, context);
  });
}

async function serve(flags: ServeFlags, context: CliContext): Promise<void> {
  const { io } = context;
  const logger = io.logger ?? (io.stderr === process.stderr ? createLogger() : createLogger({ destination: io.stderr }));
  const options = toServeOptions(flags, logger);
  const signals = io.signals ?? processSignals();
  // Listening before the start, so a Ctrl-C during start-up is not lost: the server starts, then stops.
  let stopped!: (signal: StopSignal) => void;
  const stop = new Promise<StopSignal>((resolve) => (stopped = resolve));
  const cancelStop = onFirstSignal(signals, (signal) => stopped(signal));
  let server: RunningServer;
  try {
    server = await (io.startServer ?? (await loadStartServer()))(options);
  } catch (err) {
    cancelStop();
    throw err;
  }
  context.print(`steadymesh: xds listening on ${formatHostPort(server.xds.host, server.xds.port)}`);
  context.print(`steadymesh: admin listening on ${formatHostPort(server.admin.host, server.admin.port)}`);
  context.print(`steadymesh: dns listening on ${formatHostPort(server.dns.host, server.dns.port)}`);
  const signal = await stop;
  logger.info({ signal }, "stopping; send the signal again to exit at once");
  await closeOrForce(server, signals, logger);
}

/** Closes the server; a signal while it closes ends the process without waiting (exit status 128 + signal number). */
async function closeOrForce(server: RunningServer, signals: SignalSource, logger: Logger): Promise<void> {
  const cancelForce = onFirstSignal(signals, (signal) => {
    logger.warn({ signal }, "second signal while closing; exiting without waiting");
    signals.exit(signal === "SIGINT" ? 130 : 143);
  });
  try {
    await server.close();
  } finally {
    cancelForce();
  }
}

async function loadStartServer(): Promise<(options: ServeOptions) => Promise<RunningServer>> {
  const { startServer } = await import("../../server/index.js");
  return startServer;
}
