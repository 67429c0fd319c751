import type { Command } from "commander";
import type { Generation } from "../../guard/model.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { generationId } from "../parse.js";

/**
 * `steadymesh approve ID`: releases a held generation. Prints
 * `generation 7: held → pushed (approved)` (`→ canary` when there is a canary
 * group); only a held generation can be approved, so `held` is always where
 * it came from.
 */
export function addApproveCommand(program: Command, context: CliContext): void {
  const command = program
    .command("approve")
    .description("push a held generation after all (through the canary group when there is one)")
    .argument("<id>", "generation id, as shown by 'steadymesh generations'", generationId);
  withAdminOption(command).action(async (id: number, options: { admin: string }) => {
    const generation = await adminClient(options).request<Generation>("POST", `/v1/generations/${id}/approve`);
    context.print(`generation ${generation.id}: held → ${generation.status} (approved)`);
  });
}
