import type { Command } from "commander";
import { createLogger, createSilentLogger, type Logger } from "../../log/index.js";
// options.ts and bind-policy.ts, not the server index: see serve-flags.ts.
import { checkListenerBinds } from "../../server/bind-policy.js";
import { listenerBinds, type RunningServer, type ServeOptions } from "../../server/options.js";
import type { CliContext, SignalSource, StopSignal } from "../context.js";
import { formatHostPort, nonEmpty } from "../parse.js";
import { onFirstSignal, processSignals } from "../signals.js";
import { applyConfigFile } from "./serve-config.js";
import { addServeFlags, checkServeFlags, toServeOptions, type ServeFlags } from "./serve-flags.js";

/**
 * `steadymesh serve`: runs the control plane until SIGINT or SIGTERM, then
 * closes it gracefully; a second signal while closing exits at once.
 * Prints exactly one `steadymesh: <listener> listening on <host>:<port>`
 * line per listener on stdout; logs go to stderr. `--config FILE` reads
 * flags from YAML (serve-config.ts); `--check-config` only checks them.
 */
export function addServeCommand(program: Command, context: CliContext): void {
  const command = program.command("serve").description("run the control plane: registry, xDS server, push guard, admin API and DNS server");
  addServeFlags(command)
    .option("--config <file>", "YAML file of serve flags, keyed by flag name without the dashes (xds-port: 18000); a flag on the command line wins over the file", nonEmpty)
    .option("--check-config", "check the flags and the --config file, print one line, and exit without starting")
    .action(async (given: ServeFlags & { config?: string; checkConfig?: boolean }, self: Command) => {
      if (given.config !== undefined) applyConfigFile(self, given.config);
      const { config: _config, checkConfig, ...flags } = self.opts<ServeFlags & { config?: string; checkConfig?: boolean }>();
      checkServeFlags(flags);
      if (checkConfig) return checkOnly(flags, given.config, context);
      await serve(flags, context);
    });
}

/** `--check-config`: the bind rules too, as serve would apply them; nothing is opened or bound. */
function checkOnly(flags: ServeFlags, file: string | undefined, context: CliContext): void {
  const options = toServeOptions(flags, createSilentLogger());
  checkListenerBinds(options, createLogger({ destination: context.io.stderr }));
  const binds = listenerBinds(options);
  const where = (name: "xds" | "admin" | "dns", port: number) => `${name} ${formatHostPort(binds[name].address, port)}`;
  context.print(`steadymesh: ${file ?? "the flags"}: valid; would listen on ${where("xds", options.xdsPort)}, ${where("admin", options.adminPort)}, ${where("dns", options.dnsPort)}`);
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
