import type { Command } from "commander";
import type { ClientStatus, NackStatus, TypeStatus } from "../../xds/index.js";
import { allClients, allServices } from "../admin-pages.js";
import { failingServices, summarizeFailing } from "../build-status.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { grpcCodeName } from "../grpc-codes.js";
import { describeSubscribed, describeUnknown, rank } from "../subscriptions.js";
import { cell, formatTable } from "../table.js";

interface StatusOptions {
  readonly admin: string;
  readonly json?: boolean;
}

const HEADER = ["NODE", "STREAM", "TYPE", "SUBSCRIBED", "SENT", "ACKED", "ACKED GEN", "LAST NACK"];

/**
 * `steadymesh status`: every connected xDS client, per resource type the
 * version it was sent and ACKed, the push guard generation it ACKed, and its
 * names it subscribed to (the first few), the version it was sent and ACKED,
 * the push guard generation it ACKed, and its last NACK (with the generation
 * refused, when known); then one line per client that subscribed to names
 * the served snapshot does not have (`node-1 (s3) unknown: gretter (LDS)`);
 * then, when there are any, one line listing the services whose
 * configuration does not build.
 * `--json` prints `{clients, failingServices}`.
 */
export function addStatusCommand(program: Command, context: CliContext): void {
  const command = program
    .command("status")
    .description("show connected xDS clients (per resource type the names subscribed, flagging names that do not exist, the version and generation ACKed and the last NACK with its error) and the services whose configuration is not being updated")
    .option("--json", "print the admin API's JSON answer instead of a table");
  withAdminOption(command).action(async (options: StatusOptions) => {
    const client = adminClient(options);
    const answer = { clients: await allClients(client) };
    // Every page: a failing service may be anywhere in a large registry.
    const failing = failingServices((await allServices(client)).services);
    if (options.json) {
      context.print(JSON.stringify({ clients: answer.clients, failingServices: failing }, null, 2));
      return;
    }
    if (answer.clients.length === 0) context.print("no xDS clients connected");
    else for (const line of formatTable(HEADER, answer.clients.flatMap(rowsOf))) context.print(line);
    const unknown = answer.clients.flatMap((c) => describeUnknown(c) ?? []);
    if (unknown.length > 0) context.print("clients asking for resource names that do not exist (a typo, or a service since removed):");
    for (const line of unknown) context.print(`  ${line}`);
    if (failing.length > 0) context.print(summarizeFailing(failing));
  });
}

function rowsOf(client: ClientStatus): string[][] {
  const types = Object.entries(client.types).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  // A client that has not subscribed to anything yet still shows up.
  if (types.length === 0) return [[cell(client.nodeId), client.streamId, "-", "-", "-", "-", "-", "-"]];
  return types.map(([type, status]: [string, TypeStatus]) => [
    cell(client.nodeId),
    client.streamId,
    type,
    describeSubscribed(status),
    cell(status.sentVersion),
    cell(status.ackedVersion),
    status.ackedGeneration === undefined ? "-" : String(status.ackedGeneration),
    status.lastNack ? describeNack(status.lastNack) : "-",
  ]);
}

/** `at 2024-… (generation 8; kept version 3): INVALID_ARGUMENT: endpoints[0].port: …`; the generation only when known. */
export function describeNack(nack: NackStatus): string {
  const { code, message } = nack.errorDetail;
  const generation = nack.generation === undefined ? "" : `generation ${nack.generation}; `;
  return cell(`at ${nack.at} (${generation}kept version ${nack.version || "none"}): ${grpcCodeName(code)}: ${message}`);
}
