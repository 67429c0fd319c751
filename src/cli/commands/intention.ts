import { InvalidArgumentError, type Command } from "commander";
import { segment } from "../admin-client.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { printWithOutcome, withWaitOption } from "../guard-outcome.js";
import { dnsLabel } from "../parse.js";
import { cell, formatTable } from "../table.js";

/** The source that stands for every caller no intention names: the destination's default (Consul's convention). */
const ANY = "*";

interface ServiceWithIntentions {
  readonly name: string;
  readonly mtls?: string;
  readonly intentions?: Readonly<Record<string, string>>;
}

function source(value: string): string {
  if (value === ANY) return value;
  try {
    return dnsLabel(value);
  } catch {
    // dnsLabel's message names only the label form; a source may also be "*".
    throw new InvalidArgumentError(`It must be a service name (a DNS label: [a-z0-9-], 1-63 characters, no hyphen at either end) or '*' for every caller no intention names.`);
  }
}

const SOURCE_HELP = "the calling service, or '*' for the destination's default (quote it in a shell)";

/**
 * `steadymesh intention allow|deny SOURCE DESTINATION`, `intention list
 * DESTINATION` and `intention delete SOURCE DESTINATION` (README,
 * "Security → intentions"). Each write is applied by the registry on the
 * destination's record in one commit; the change reaches the destination's
 * servers as their RBAC filter, and the push guard's verdict is printed as
 * for other writes.
 */
export function addIntentionCommands(program: Command, context: CliContext): void {
  const intention = program.command("intention").description("allow or deny calls from one service to another (RBAC on the destination's servers, by SPIFFE ID)");
  for (const action of ["allow", "deny"] as const) {
    const command = intention
      .command(action)
      .description(`${action} calls from SOURCE to DESTINATION`)
      .argument("<source>", SOURCE_HELP, source)
      .argument("<destination>", "the called service", dnsLabel);
    withAdminOption(withWaitOption(command)).action(async (from: string, to: string, options: { admin: string; waitMs: number }) => {
      const client = adminClient(options);
      const result = await client.request<{ revision: number }>("PUT", `/v1/services/${segment(to)}/intentions/${segment(from)}`, { action });
      await printWithOutcome(context, client, `intention ${from} -> ${to}: ${action} (revision ${result.revision})`, result.revision, options.waitMs);
    });
  }
  const remove = intention
    .command("delete")
    .description("remove the intention from SOURCE to DESTINATION (SOURCE is then allowed, unless DESTINATION's '*' default denies it)")
    .argument("<source>", SOURCE_HELP, source)
    .argument("<destination>", "the called service", dnsLabel);
  withAdminOption(withWaitOption(remove)).action(async (from: string, to: string, options: { admin: string; waitMs: number }) => {
    const client = adminClient(options);
    const result = await client.request<{ revision: number }>("DELETE", `/v1/services/${segment(to)}/intentions/${segment(from)}`);
    await printWithOutcome(context, client, `intention ${from} -> ${to} deleted (revision ${result.revision})`, result.revision, options.waitMs);
  });
  const list = intention.command("list").description("list the intentions whose destination is DESTINATION, and its mtls mode").argument("<destination>", "the called service", dnsLabel);
  withAdminOption(list).action(async (to: string, options: { admin: string }) => {
    const { service } = await adminClient(options).request<{ service: ServiceWithIntentions }>("GET", `/v1/services/${segment(to)}`);
    const intentions = service.intentions ?? {};
    const rows = Object.keys(intentions)
      .filter((from) => from !== ANY)
      .sort()
      .map((from) => [from, intentions[from] ?? ""].map(cell));
    context.print(`${service.name}: mtls ${service.mtls ?? "off"}, default ${intentions[ANY] ?? "allow"}${intentions[ANY] === undefined ? " (no '*' intention)" : ""}`);
    for (const line of formatTable(["SOURCE", "ACTION"], rows)) context.print(line);
  });
}
