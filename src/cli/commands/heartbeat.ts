import type { Command } from "commander";
import { createSystemClock } from "../../clock/index.js";
import { ConflictError, SteadyError } from "../../errors/index.js";
import type { HeartbeatResult } from "../../health/index.js";
import { segment } from "../admin-client.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { integerIn } from "../parse.js";
import { onFirstSignal, processSignals } from "../signals.js";

interface HeartbeatOptions {
  readonly admin: string;
  readonly every?: number;
}

/**
 * `steadymesh heartbeat SERVICE ID [--every MS]`: renews the TTL of an
 * instance registered with `--ttl-ms`. Without `--every`, one renewal: a line
 * on success, the usual one-line error otherwise. With `--every`, it renews
 * at that period until SIGINT or SIGTERM: one line for the first success,
 * then one stderr line per failed renewal (it keeps trying; the instance may
 * be registered again), and a summary when stopped (exit 0).
 */
export function addHeartbeatCommand(program: Command, context: CliContext): void {
  const command = program
    .command("heartbeat")
    .description("renew the TTL of an instance registered with --ttl-ms, once or every MS milliseconds")
    .argument("<service>", "service name")
    .argument("<id>", "instance id, as shown by 'steadymesh list'")
    .option("--every <ms>", "keep renewing at this period until Ctrl-C, 100-3600000", integerIn(100, 3_600_000));
  withAdminOption(command).action(async (service: string, id: string, options: HeartbeatOptions) => {
    const client = adminClient(options);
    const path = `/v1/services/${segment(service)}/instances/${segment(id)}/heartbeat`;
    const renew = () => client.request<HeartbeatResult>("PUT", path).catch((err: unknown) => Promise.reject(withTtlAdvice(err, service, id)));
    if (options.every === undefined) {
      context.print(renewedLine(await renew()));
      return;
    }
    await renewUntilStopped(renew, options.every, `${service}/${id}`, context);
  });
}

/**
 * The server's only 409 here is an instance without a TTL; its text names
 * the API's `ttlMs`, so the CLI says which command and flag give it one.
 */
function withTtlAdvice(err: unknown, service: string, id: string): unknown {
  if (!(err instanceof SteadyError) || err.code !== "conflict") return err;
  return new ConflictError(
    `${service}/${id} was registered without --ttl-ms, so it takes no heartbeats; register it again with 'steadymesh register ${service} --address A --port P --id ${id} --ttl-ms MS' (1000-86400000)`,
    { cause: err },
  );
}

function renewedLine(result: HeartbeatResult): string {
  return `renewed ${result.service}/${result.id}: healthy until ${result.expiresAt} unless renewed (ttl ${result.ttlMs} ms)`;
}

/** Renews every `periodMs` (measured from the start of each renewal) until a stop signal; resolves once stopped. */
async function renewUntilStopped(renew: () => Promise<HeartbeatResult>, periodMs: number, name: string, context: CliContext): Promise<void> {
  const clock = context.io.clock ?? createSystemClock();
  const signals = context.io.signals ?? processSignals();
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const cancelSignals = onFirstSignal(signals, () => stop());
  let running = true;
  let cancelTimer: (() => void) | undefined;
  let inFlight: Promise<void> | undefined;
  let renewals = 0;
  let failures = 0;

  async function beat(): Promise<void> {
    const started = clock.now();
    try {
      const result = await renew();
      if (renewals++ === 0) context.print(`${renewedLine(result)}; renewing every ${periodMs} ms until Ctrl-C`);
    } catch (err) {
      failures++;
      const message = err instanceof Error ? err.message : String(err);
      context.io.stderr.write(`steadymesh: heartbeat ${name} failed: ${message.replace(/\s*\n\s*/g, " ")}\n`);
    }
    if (running) cancelTimer = clock.setTimeout(() => (inFlight = beat()), Math.max(0, started + periodMs - clock.now()));
  }

  inFlight = beat();
  await stopped;
  running = false;
  cancelTimer?.();
  cancelSignals();
  // A renewal under way when the signal came still gets its line (and its count) before the summary.
  await inFlight;
  context.print(`stopped renewing ${name}: ${renewals} renewed, ${failures} failed`);
}
