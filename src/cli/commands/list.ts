import type { Command } from "commander";
import type { ServiceJson } from "../../admin/index.js";
import { segment } from "../admin-client.js";
import { allServices } from "../admin-pages.js";
import { describeFailing, failingServices } from "../build-status.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { formatHostPort } from "../parse.js";
import { cell, formatTable } from "../table.js";

interface ListOptions {
  readonly admin: string;
  readonly json?: boolean;
}

const HEADER = ["SERVICE", "ID", "ADDRESS", "ZONE/REGION", "WEIGHT", "HEALTH"];

/**
 * `steadymesh list [SERVICE]`: one row per instance; a service whose
 * configuration does not build is marked `(failing)` and gets one line under
 * the table saying since when, what its clients keep, and why. `--json`
 * prints the admin API's answer as is.
 */
export function addListCommand(program: Command, context: CliContext): void {
  const command = program
    .command("list")
    .description("list services and their instances")
    .argument("[service]", "only this service")
    .option("--json", "print the admin API's JSON answer instead of a table");
  withAdminOption(command).action(async (service: string | undefined, options: ListOptions) => {
    const client = adminClient(options);
    const answer = service === undefined ? await allServices(client) : await client.request<{ revision: number; service: ServiceJson }>("GET", `/v1/services/${segment(service)}`);
    if (options.json) {
      context.print(JSON.stringify(answer, null, 2));
      return;
    }
    const services = "services" in answer ? answer.services : [answer.service];
    if (services.length === 0) {
      context.print(`no services registered (revision ${answer.revision})`);
      return;
    }
    for (const line of formatTable(HEADER, services.flatMap(rowsOf))) context.print(line);
    for (const failing of failingServices(services)) context.print(describeFailing(failing));
  });
}

function rowsOf(service: ServiceJson): string[][] {
  const name = service.build ? `${service.name} (failing)` : service.name;
  // A service without instances still gets a row, so it does not look absent.
  if (service.instances.length === 0) return [[name, "-", "-", "-", "-", "-"]];
  return service.instances.map((instance) => [
    name,
    instance.id,
    formatHostPort(instance.address, instance.port),
    instance.zone === "" && instance.region === "" ? "-" : `${instance.zone || "-"}/${instance.region || "-"}`,
    String(instance.weight),
    cell(instance.health),
  ]);
}
