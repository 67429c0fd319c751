import type { Command } from "commander";
import { segment } from "../admin-client.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";

/** `steadymesh deregister SERVICE ID`: removes one instance; the service stays. */
export function addDeregisterCommand(program: Command, context: CliContext): void {
  const command = program
    .command("deregister")
    .description("remove one instance of a service")
    .argument("<service>", "service name")
    .argument("<id>", "instance id, as shown by 'steadymesh list'");
  withAdminOption(command).action(async (service: string, id: string, options: { admin: string }) => {
    const path = `/v1/services/${segment(service)}/instances/${segment(id)}`;
    const result = await adminClient(options).request<{ revision: number }>("DELETE", path);
    context.print(`deregistered ${service}/${id} (revision ${result.revision})`);
  });
}
