import { Command } from "commander";
import { addServeFlags, checkServeFlags, type ServeFlags } from "../../src/cli/commands/serve-flags.js";

/** `serve`'s flags as the CLI parses and checks them, without starting anything; throws what the CLI would report. */
export function parseServe(args: readonly string[]): ServeFlags {
  const command = addServeFlags(new Command("serve").exitOverride().configureOutput({ writeErr: () => undefined }));
  command.parse([...args], { from: "user" });
  const flags = command.opts<ServeFlags>();
  checkServeFlags(flags);
  return flags;
}
