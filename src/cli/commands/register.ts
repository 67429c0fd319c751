import type { Command } from "commander";
import type { Instance } from "../../registry/index.js";
import { segment } from "../admin-client.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { printWithOutcome, withWaitOption } from "../guard-outcome.js";
import { defaultInstanceId, formatHostPort, integerIn, ipAddress, metadataPair } from "../parse.js";

/** The flag behind each field of the request body (and `id`, which the server checks too), for the server's errors. */
const FLAGS = { address: "--address", port: "--port", id: "--id", zone: "--zone", region: "--region", weight: "--weight", ttlMs: "--ttl-ms", metadata: "--metadata" };

interface RegisterOptions {
  readonly admin: string;
  readonly address: string;
  readonly port: number;
  readonly id?: string;
  readonly zone?: string;
  readonly region?: string;
  readonly weight?: number;
  readonly ttlMs?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly waitMs: number;
}

/**
 * `steadymesh register SERVICE --address A --port P …`: creates or replaces
 * one instance, then says so, and when the push guard holds or rejects the
 * generation built from it, says that too (see guard-outcome.ts).
 */
export function addRegisterCommand(program: Command, context: CliContext): void {
  const command = program
    .command("register")
    .description("register an instance of a service (creating the service if needed), or replace it")
    .argument("<service>", "service name, a DNS label ([a-z0-9-], 1-63 characters)")
    .requiredOption("--address <ip>", "IPv4 or IPv6 address of the instance", ipAddress)
    .requiredOption("--port <port>", "port of the instance, 1-65535", integerIn(1, 65535))
    .option("--id <id>", "instance id, a DNS label (default: address and port, e.g. 127-0-0-1-50051)")
    .option("--zone <zone>", "locality zone, e.g. z1")
    .option("--region <region>", "locality region, e.g. r1")
    .option("--weight <weight>", "load-balancing weight, 1-10000 (default: 1)", integerIn(1, 10000))
    .option("--ttl-ms <ms>", "renew with 'steadymesh heartbeat' at least this often, or turn unhealthy and later be removed, 1000-86400000", integerIn(1000, 86_400_000))
    .option("--metadata <key=value>", "instance metadata, repeatable, e.g. --metadata version=2 (traffic policy subsets match on it)", metadataPair);
  withAdminOption(withWaitOption(command)).action(async (service: string, options: RegisterOptions) => {
    const id = options.id ?? defaultInstanceId(options.address, options.port);
    // Only the flags given are sent, so the server's defaults apply to the rest.
    const body = {
      address: options.address,
      port: options.port,
      ...(options.zone !== undefined && { zone: options.zone }),
      ...(options.region !== undefined && { region: options.region }),
      ...(options.weight !== undefined && { weight: options.weight }),
      ...(options.ttlMs !== undefined && { ttlMs: options.ttlMs }),
      ...(options.metadata !== undefined && { metadata: options.metadata }),
    };
    const path = `/v1/services/${segment(service)}/instances/${segment(id)}`;
    const client = adminClient(options);
    const result = await client.request<{ revision: number; instance: Instance }>("PUT", path, body, FLAGS);
    const where = formatHostPort(result.instance.address, result.instance.port);
    await printWithOutcome(context, client, `registered ${service}/${id} at ${where} (revision ${result.revision})`, result.revision, options.waitMs);
  });
}
