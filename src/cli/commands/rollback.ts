import type { Command } from "commander";
import type { Generation } from "../../guard/model.js";
import { adminClient, withAdminOption, type CliContext } from "../context.js";
import { generationId } from "../parse.js";

/**
 * `steadymesh rollback ID`: pushes an earlier generation again, as a new one.
 * Prints `generation 9: rollback of generation 5, pushed; generation 8 rolled back`,
 * where 8 is the generation the new one was compared against (the last
 * pushed), which it replaces.
 */
export function addRollbackCommand(program: Command, context: CliContext): void {
  const command = program
    .command("rollback")
    .description("push an earlier generation again to every client; new generations are held until one is approved")
    .argument("<id>", "generation to go back to, as shown by 'steadymesh generations'", generationId);
  withAdminOption(command).action(async (id: number, options: { admin: string }) => {
    const generation = await adminClient(options).request<Generation>("POST", `/v1/generations/${id}/rollback`);
    const replaced = generation.diff.against === undefined ? "" : `; generation ${generation.diff.against} rolled back`;
    context.print(`generation ${generation.id}: rollback of generation ${generation.from ?? id}, ${generation.status}${replaced}`);
  });
}
