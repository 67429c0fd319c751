import type { Command } from "commander";
import { SteadyError } from "../../errors/index.js";
import { createLogger, type Logger } from "../../log/index.js";
// options.ts, not the server index: it has no run-time imports, so other commands start
// without loading gRPC, protobuf and sqlite.
import { SERVE_DEFAULTS, type RunningServer, type ServeOptions } from "../../server/options.js";
import type { CliContext, SignalSource, StopSignal } from "../context.js";
import { dnsDomain, formatHostPort, integerIn, ipAddress, nonEmpty, storeSpec } from "../parse.js";

interface ServeFlags {
  readonly dataDir: string;
  readonly store: string;
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly dnsPort: number;
  readonly dnsDomain: string;
  readonly dnsTtl: number;
  readonly bind: string;
  readonly coalesceMs: number;
  readonly enableFaults: boolean;
}

const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM"];
const port = integerIn(0, 65535);

/**
 * `steadymesh serve`: runs the control plane until SIGINT or SIGTERM, then
 * closes it gracefully; a second signal while closing exits at once.
 * Prints exactly one `steadymesh: <listener> listening on <host>:<port>`
 * line per listener on stdout; logs go to stderr.
 */
export function addServeCommand(program: Command, context: CliContext): void {
  const d = SERVE_DEFAULTS;
  program
    .command("serve")
    .description("run the control plane: registry, xDS server, admin API and DNS server")
    .option("--data-dir <dir>", "where the sqlite store keeps its data", nonEmpty, d.dataDir)
    .option("--store <store>", "sqlite, memory or etcd://HOST:PORT[,HOST:PORT...]", storeSpec, d.store)
    .option("--xds-port <port>", "xDS (ADS) gRPC port, 0-65535; 0 picks a free port", port, d.xdsPort)
    .option("--admin-port <port>", "admin HTTP API port, 0-65535; 0 picks a free port", port, d.adminPort)
    .option("--dns-port <port>", "DNS port (UDP and TCP), 0-65535; 0 picks a free port", port, d.dnsPort)
    .option("--dns-domain <domain>", "DNS domain: names are <service>.service.<domain>", dnsDomain, d.dnsDomain)
    .option("--dns-ttl <seconds>", "TTL of DNS answers, 0-86400", integerIn(0, 86_400), d.dnsTtlSeconds)
    .option("--bind <ip>", "IP address every listener binds to", ipAddress, d.bind)
    .option("--coalesce-ms <ms>", "registry changes within this many milliseconds become one xDS push, 0-60000", integerIn(0, 60_000), d.coalesceMs)
    .option("--enable-faults", "serve /v1/faults, which injects control-plane failures into what xDS clients see (outage lab; never in production)", d.enableFaults)
    .action(async (flags: ServeFlags) => {
      checkDistinctPorts(flags);
      await serve(flags, context);
    });
}

/** The listeners share one address, so two fixed ports may not be equal (the DNS port is TCP too). */
function checkDistinctPorts(flags: ServeFlags): void {
  const ports: [string, number][] = [["--xds-port", flags.xdsPort], ["--admin-port", flags.adminPort], ["--dns-port", flags.dnsPort]];
  for (const [i, [name, value]] of ports.entries()) {
    const clash = ports.slice(i + 1).find(([, other]) => value !== 0 && other === value);
    if (clash) throw new SteadyError("invalid-argument", `${name} and ${clash[0]} are both ${value}; they must differ (0 picks a free port)`);
  }
}

async function serve(flags: ServeFlags, context: CliContext): Promise<void> {
  const { io } = context;
  const logger = io.logger ?? (io.stderr === process.stderr ? createLogger() : createLogger({ destination: io.stderr }));
  const { dnsTtl, ...rest } = flags;
  const options: ServeOptions = { ...rest, dnsTtlSeconds: dnsTtl, bodyLimit: SERVE_DEFAULTS.bodyLimit, logger };
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

/** Calls `onSignal` on the first stop signal only; returns a function that removes the listeners. */
function onFirstSignal(signals: SignalSource, onSignal: (signal: StopSignal) => void): () => void {
  const listeners: [StopSignal, () => void][] = [];
  const cancel = (): void => {
    for (const [name, listener] of listeners.splice(0)) signals.off(name, listener);
  };
  for (const name of STOP_SIGNALS) {
    const listener = (): void => {
      cancel();
      onSignal(name);
    };
    listeners.push([name, listener]);
    signals.once(name, listener);
  }
  return cancel;
}

async function loadStartServer(): Promise<(options: ServeOptions) => Promise<RunningServer>> {
  const { startServer } = await import("../../server/index.js");
  return startServer;
}

function processSignals(): SignalSource {
  return {
    once: (signal, listener) => void process.once(signal, listener),
    off: (signal, listener) => void process.off(signal, listener),
    exit: (code) => process.exit(code),
  };
}
