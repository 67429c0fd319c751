import type { Command } from "commander";
import type { ClientStatus, NackStatus, TypeStatus } from "../../xds/index.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { cell, formatTable } from "../table.js";

interface StatusOptions {
  readonly admin: string;
  readonly json?: boolean;
}

const HEADER = ["NODE", "STREAM", "TYPE", "SENT", "ACKED", "LAST NACK"];
/** Resource types in the order a client resolves them. */
const TYPE_ORDER = ["LDS", "RDS", "CDS", "EDS"];
/** gRPC status names by code, for NACK error details. */
const GRPC_CODES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

/** `steadymesh status`: every connected xDS client, per resource type what it was sent, ACKed and last NACKed. */
export function addStatusCommand(program: Command, context: CliContext): void {
  const command = program
    .command("status")
    .description("show connected xDS clients: per resource type the version ACKed and the last NACK with its error")
    .option("--json", "print the admin API's JSON answer instead of a table");
  withAdminOption(command).action(async (options: StatusOptions) => {
    const answer = await adminClient(options).request<{ clients: ClientStatus[] }>("GET", "/v1/clients");
    if (options.json) {
      context.print(JSON.stringify(answer, null, 2));
      return;
    }
    if (answer.clients.length === 0) {
      context.print("no xDS clients connected");
      return;
    }
    for (const line of formatTable(HEADER, answer.clients.flatMap(rowsOf))) context.print(line);
  });
}

function rowsOf(client: ClientStatus): string[][] {
  const types = Object.entries(client.types).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  // A client that has not subscribed to anything yet still shows up.
  if (types.length === 0) return [[cell(client.nodeId), client.streamId, "-", "-", "-", "-"]];
  return types.map(([type, status]: [string, TypeStatus]) => [
    cell(client.nodeId),
    client.streamId,
    type,
    cell(status.sentVersion),
    cell(status.ackedVersion),
    status.lastNack ? describeNack(status.lastNack) : "-",
  ]);
}

function rank(type: string): number {
  const index = TYPE_ORDER.indexOf(type);
  return index === -1 ? TYPE_ORDER.length : index;
}

/** `at 2024-… (kept version 3): INVALID_ARGUMENT: endpoints[0].port: …` */
export function describeNack(nack: NackStatus): string {
  const { code, message } = nack.errorDetail;
  const name = GRPC_CODES[code] ?? `code ${code}`;
  return cell(`at ${nack.at} (kept version ${nack.version || "none"}): ${name}: ${message}`);
}
