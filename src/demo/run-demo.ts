import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import { createAccountsService } from "./accounts.js";
import type { DemoConfig } from "./cli.js";
import { createDiscovery, type Discovery } from "./discovery.js";
import { startGateway } from "./gateway.js";
import { startGrpcServer, type Listening } from "./grpc-server.js";
import { readyLine, SERVICE_OF_KIND } from "./kinds.js";
import { createLoginService } from "./login.js";
import { createPlaybackService } from "./playback.js";
import { loadDemoProto } from "./proto.js";
import { deregisterInstance, registerInstance, type InstanceRef } from "./registration.js";
import { createSessionTokens } from "./session-token.js";
import { createUserTable } from "./user-table.js";

export type StopSignal = "SIGINT" | "SIGTERM";

/** What a demo process runs with; the process's own by default (see main.ts). */
export interface DemoIo {
  /** Gets exactly one line: the ready line. */
  readonly stdout: NodeJS.WritableStream;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly signals: {
    once(signal: StopSignal, listener: () => void): void;
    off(signal: StopSignal, listener: () => void): void;
  };
  /** Ends the process at once: on a second stop signal while stopping. */
  readonly exit: (code: number) => void;
  /** @grpc/grpc-js-xds's register(); given only when xds mode is used. */
  readonly registerXds?: () => void;
}

const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM"];

/**
 * Runs one demo process: serves, registers, prints the ready line, and on
 * the first SIGINT/SIGTERM deregisters, stops serving and resolves with
 * exit status 0. A second signal while stopping exits at once. Throws (with
 * everything started closed again) when it cannot start or register.
 */
export async function runDemo(config: DemoConfig, io: DemoIo): Promise<number> {
  const logger = io.logger.child({ demo: config.kind, id: config.id });
  let onStop!: (signal: StopSignal) => void;
  const stopped = new Promise<StopSignal>((resolve) => (onStop = resolve));
  const cancelStop = onFirstSignal(io, onStop);
  const discovery = createDiscovery(config.settings, { clock: io.clock, logger, ...(io.registerXds && { registerXds: io.registerXds }) });
  const service = SERVICE_OF_KIND[config.kind];
  // One registration per control plane: an instance is listed in each admin API it was given.
  const refs: InstanceRef[] = config.register && service ? config.adminUrls.map((adminUrl, i) => ({ adminUrl, service, id: config.id, token: config.adminTokens[i] })) : [];
  let listening: Listening | undefined;
  try {
    listening = await startKind(config, discovery, io.clock, logger);
    const port = listening.port;
    await Promise.all(refs.map((ref) => registerInstance(ref, port, config.metadata)));
  } catch (err) {
    cancelStop();
    await listening?.close();
    await discovery.close();
    throw err;
  }
  logger.info({ port: listening.port, registered: refs.map((ref) => ref.adminUrl) }, "serving");
  io.stdout.write(`${readyLine(config.kind, config.id, listening.port)}\n`);
  const signal = await stopped;
  logger.info({ signal }, "stopping; send the signal again to exit at once");
  const cancelForce = onFirstSignal(io, (again) => {
    logger.warn({ signal: again }, "second signal while stopping; exiting without waiting");
    io.exit(again === "SIGINT" ? 130 : 143);
  });
  await stop(refs, listening, discovery, logger);
  cancelForce();
  return 0;
}

/** Deregisters first (from every control plane), so clients stop choosing this instance, then stops serving. */
async function stop(refs: readonly InstanceRef[], listening: Listening, discovery: Discovery, logger: Logger): Promise<void> {
  await Promise.all(refs.map((ref) => deregisterQuietly(ref, logger)));
  await listening.close();
  await discovery.close();
}

async function deregisterQuietly(ref: InstanceRef, logger: Logger): Promise<void> {
  try {
    await deregisterInstance(ref, logger);
    logger.info({ service: ref.service, admin: ref.adminUrl }, "deregistered");
  } catch (err) {
    // Stopping must not depend on the control plane being up; the instance stays listed until someone removes it.
    logger.warn({ admin: ref.adminUrl, err: err instanceof Error ? err.message : String(err) }, "could not deregister; stopping anyway");
  }
}

async function startKind(config: DemoConfig, discovery: Discovery, clock: Clock, logger: Logger): Promise<Listening> {
  const proto = loadDemoProto();
  const { id, port } = config;
  const tokens = createSessionTokens({ secret: config.secret, ttlMs: config.tokenTtlMs, clock });
  switch (config.kind) {
    case "accounts":
      return startGrpcServer([createAccountsService(proto, createUserTable(config.users), id, logger)], port, clock);
    case "playback":
      return startGrpcServer([createPlaybackService(proto, id, logger)], port, clock);
    case "login": {
      const accounts = discovery.upstream("accounts", config.discovery, proto.Accounts);
      return startGrpcServer([createLoginService({ proto, accounts, tokens, deadlineMs: config.deadlineMs, id, logger, failWith: config.failWith })], port, clock);
    }
    case "gateway": {
      const login = discovery.upstream("login", config.discovery, proto.Login);
      // Playback is always found through DNS, as most of Spotify's services were.
      const playback = discovery.upstream("playback", "dns", proto.Playback);
      return startGateway(port, { proto, login, playback, tokens, deadlineMs: config.deadlineMs, id, logger });
    }
  }
}

/** Calls `listener` on the first stop signal only; returns a function that removes the listeners. */
function onFirstSignal(io: DemoIo, listener: (signal: StopSignal) => void): () => void {
  const installed: [StopSignal, () => void][] = [];
  const cancel = (): void => {
    for (const [name, fn] of installed.splice(0)) io.signals.off(name, fn);
  };
  for (const name of STOP_SIGNALS) {
    const fn = (): void => {
      cancel();
      listener(name);
    };
    installed.push([name, fn]);
    io.signals.once(name, fn);
  }
  return cancel;
}
