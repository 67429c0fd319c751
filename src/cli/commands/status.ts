import type { Command } from "commander";
import type { ServiceJson } from "../../admin/index.js";
import type { ClientStatus, NackStatus, TypeStatus } from "../../xds/index.js";
import type { ClientsPage } from "../../admin/index.js";
// The module itself, not the admin index: at run time the CLI needs only this constant.
import { CLIENTS_PAGE_MAX } from "../../admin/clients-page-limits.js";
import type { AdminClient } from "../admin-client.js";
import { failingServices, summarizeFailing } from "../build-status.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { grpcCodeName } from "../grpc-codes.js";
import { cell, formatTable } from "../table.js";

interface StatusOptions {
  readonly admin: string;
  readonly json?: boolean;
}

const HEADER = ["NODE", "STREAM", "TYPE", "SENT", "ACKED", "ACKED GEN", "LAST NACK"];
/** Resource types in the order a client resolves them. */
const TYPE_ORDER = ["LDS", "RDS", "CDS", "EDS"];

/**
 * `steadymesh status`: every connected xDS client, per resource type the
 * version it was sent and ACKed, the push guard generation it ACKed, and its
 * last NACK (with the generation refused, when known); then, when there are
 * any, one line listing the services whose configuration does not build.
 * `--json` prints `{clients, failingServices}`.
 */
export function addStatusCommand(program: Command, context: CliContext): void {
  const command = program
    .command("status")
    .description("show connected xDS clients (per resource type the version and generation ACKed and the last NACK with its error) and the services whose configuration is not being updated")
    .option("--json", "print the admin API's JSON answer instead of a table");
  withAdminOption(command).action(async (options: StatusOptions) => {
    const client = adminClient(options);
    const answer = { clients: await allClients(client) };
    const failing = failingServices((await client.request<{ services: ServiceJson[] }>("GET", "/v1/services")).services);
    if (options.json) {
      context.print(JSON.stringify({ clients: answer.clients, failingServices: failing }, null, 2));
      return;
    }
    if (answer.clients.length === 0) context.print("no xDS clients connected");
    else for (const line of formatTable(HEADER, answer.clients.flatMap(rowsOf))) context.print(line);
    if (failing.length > 0) context.print(summarizeFailing(failing));
  });
}

/**
 * Every connected client, page by page (`GET /v1/clients` pages by stream id).
 * A cursor that does not move on ends the walk, so a misbehaving server
 * cannot keep the command looping.
 */
async function allClients(admin: AdminClient): Promise<ClientStatus[]> {
  const clients: ClientStatus[] = [];
  let after: string | undefined;
  for (;;) {
    const query = `?limit=${CLIENTS_PAGE_MAX}${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`;
    const page = await admin.request<ClientsPage>("GET", `/v1/clients${query}`);
    clients.push(...page.clients);
    if (page.next === undefined || page.next === after || page.clients.length === 0) return clients;
    after = page.next;
  }
}

function rowsOf(client: ClientStatus): string[][] {
  const types = Object.entries(client.types).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  // A client that has not subscribed to anything yet still shows up.
  if (types.length === 0) return [[cell(client.nodeId), client.streamId, "-", "-", "-", "-", "-"]];
  return types.map(([type, status]: [string, TypeStatus]) => [
    cell(client.nodeId),
    client.streamId,
    type,
    cell(status.sentVersion),
    cell(status.ackedVersion),
    status.ackedGeneration === undefined ? "-" : String(status.ackedGeneration),
    status.lastNack ? describeNack(status.lastNack) : "-",
  ]);
}

function rank(type: string): number {
  const index = TYPE_ORDER.indexOf(type);
  return index === -1 ? TYPE_ORDER.length : index;
}

/** `at 2024-… (generation 8; kept version 3): INVALID_ARGUMENT: endpoints[0].port: …`; the generation only when known. */
export function describeNack(nack: NackStatus): string {
  const { code, message } = nack.errorDetail;
  const generation = nack.generation === undefined ? "" : `generation ${nack.generation}; `;
  return cell(`at ${nack.at} (${generation}kept version ${nack.version || "none"}): ${grpcCodeName(code)}: ${message}`);
}
