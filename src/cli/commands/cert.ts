import type { Command } from "commander";
import { createBackoff, createSystemClock, type Clock } from "../../clock/index.js";
import { SteadyError } from "../../errors/index.js";
import type { IssuedCertificate } from "../../identity/index.js";
import type { AdminClient } from "../admin-client.js";
import { writeCertificateFiles } from "../cert-files.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { dnsLabel, nonEmpty } from "../parse.js";
import { onFirstSignal, processSignals } from "../signals.js";

interface CertOptions {
  readonly admin: string;
  readonly ca?: string;
  readonly dir: string;
  readonly watch?: boolean;
}

/** Retries while the CA cannot be reached: 1 s, doubling, at most 30 s apart, with jitter so a fleet does not retry in step. */
const RETRY = { initialMs: 1000, multiplier: 2, maxMs: 30_000, jitter: 0.2 } as const;

/**
 * `steadymesh cert SERVICE --dir DIR [--watch]`: makes an ECDSA P-256 key
 * here, sends only a CSR to `POST /v1/certificates`, and writes
 * `certificate.pem`, `private_key.pem` (0600) and `ca.pem` into DIR at once
 * (cert-files.ts), the layout gRPC's file_watcher provider reads. With
 * `--watch` it renews (a new key each time) at half of each certificate's
 * remaining lifetime, retries with capped backoff while the CA cannot be
 * reached, prints one line per renewal and one stderr line per failure, and
 * stops on SIGINT or SIGTERM with a summary (exit 0).
 */
export function addCertCommand(program: Command, context: CliContext): void {
  const command = program
    .command("cert")
    .description("get a workload certificate for SERVICE from the built-in CA and write it to --dir; --watch keeps renewing it")
    .argument("<service>", "the service the certificate is for (its SPIFFE ID is spiffe://<trust-domain>/service/<service>)", dnsLabel)
    .requiredOption("--dir <dir>", "where to write certificate.pem, private_key.pem and ca.pem", nonEmpty)
    .option("--watch", "keep renewing at half the certificate's lifetime until Ctrl-C");
  withAdminOption(command).action(async (service: string, options: CertOptions) => {
    const client = adminClient(options);
    const clock = context.io.clock ?? createSystemClock();
    const obtain = () => obtainAndWrite(client, service, options.dir, clock);
    if (!options.watch) {
      context.print(writtenLine(service, options.dir, await obtain()));
      return;
    }
    await renewUntilStopped(obtain, service, options.dir, context, clock);
  });
}

async function obtainAndWrite(client: AdminClient, service: string, dir: string, clock: Clock): Promise<IssuedCertificate> {
  // Loaded here, not at the top: the X.509 library is only needed by this command.
  const { createCsr, generateKeyPair, privateKeyPem } = await import("../../identity/index.js");
  const keys = await generateKeyPair();
  const csr = await createCsr(service, keys);
  const issued = await client.request<IssuedCertificate>("POST", "/v1/certificates", { service, csr });
  if (typeof issued.certificateChain !== "string" || typeof issued.caCertificate !== "string" || Number.isNaN(Date.parse(issued.expiresAt))) {
    throw new SteadyError("internal", "the admin API answered POST /v1/certificates without certificateChain, caCertificate and expiresAt");
  }
  await writeCertificateFiles(dir, { certificateChain: issued.certificateChain, privateKeyPem: await privateKeyPem(keys.privateKey), caCertificate: issued.caCertificate }, clock.now());
  return issued;
}

function writtenLine(service: string, dir: string, issued: IssuedCertificate): string {
  return `wrote the certificate of ${service} to ${dir}: valid until ${issued.expiresAt}`;
}

/** Renewals are at least this far apart, so a CA whose clock runs far behind ours (expiry already past here) is not asked in a tight loop. */
const MIN_RENEWAL_MS = 500;

/** Half of what is left of the certificate's life, from now. */
function renewalDelay(issued: IssuedCertificate, clock: Clock): number {
  return Math.max(MIN_RENEWAL_MS, Math.floor((Date.parse(issued.expiresAt) - clock.now()) / 2));
}

async function renewUntilStopped(obtain: () => Promise<IssuedCertificate>, service: string, dir: string, context: CliContext, clock: Clock): Promise<void> {
  const signals = context.io.signals ?? processSignals();
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const cancelSignals = onFirstSignal(signals, () => stop());
  const backoff = createBackoff(RETRY);
  let running = true;
  let cancelTimer: (() => void) | undefined;
  let inFlight: Promise<void> | undefined;
  let issuedCount = 0;
  let failures = 0;
  let firstError: unknown;

  const schedule = (ms: number): void => {
    if (running) cancelTimer = clock.setTimeout(() => (inFlight = attempt()), ms);
  };
  async function attempt(): Promise<void> {
    try {
      const issued = await obtain();
      backoff.reset();
      const delay = renewalDelay(issued, clock);
      const line = issuedCount++ === 0 ? writtenLine(service, dir, issued) : `renewed the certificate of ${service} in ${dir}: valid until ${issued.expiresAt}`;
      context.print(`${line}; next renewal in ${Math.round(delay / 1000)} s`);
      schedule(delay);
    } catch (err) {
      // A first request the CA refuses (a bad name, a bad token) will not succeed by waiting; one it did not answer may.
      if (issuedCount === 0 && !(err instanceof SteadyError && err.code === "unavailable")) {
        firstError = err;
        stop();
        return;
      }
      failures++;
      const delay = backoff.next();
      const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
      context.io.stderr.write(`steadymesh: cert ${service}: getting a certificate failed: ${message}; retrying in ${Math.round(delay / 100) / 10} s\n`);
      schedule(delay);
    }
  }

  inFlight = attempt();
  await stopped;
  running = false;
  cancelTimer?.();
  cancelSignals();
  await inFlight;
  if (firstError !== undefined) throw firstError;
  context.print(`stopped renewing the certificate of ${service}: ${issuedCount} issued, ${failures} failed`);
}
