import type { Command } from "commander";
import { segment } from "../admin-client.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { printWithOutcome, withWaitOption } from "../guard-outcome.js";

/**
 * `steadymesh deregister SERVICE ID`: removes one instance (the service
 * stays), then says so, and when the push guard holds or rejects the
 * generation built from it, says that too (see guard-outcome.ts).
 */
export function addDeregisterCommand(program: Command, context: CliContext): void {
  const command = program
    .command("deregister")
    .description("remove one instance of a service")
    .argument("<service>", "service name")
    .argument("<id>", "instance id, as shown by 'steadymesh list'");
  withAdminOption(withWaitOption(command)).action(async (service: string, id: string, options: { admin: string; waitMs: number }) => {
    const path = `/v1/services/${segment(service)}/instances/${segment(id)}`;
    const client = adminClient(options);
    const result = await client.request<{ revision: number }>("DELETE", path);
    await printWithOutcome(context, client, `deregistered ${service}/${id} (revision ${result.revision})`, result.revision, options.waitMs);
  });
}
