import { Command, CommanderError } from "commander";
import { addApproveCommand } from "./commands/approve.js";
import { addBootstrapCommand } from "./commands/bootstrap.js";
import { addCertCommand } from "./commands/cert.js";
import { addDeregisterCommand } from "./commands/deregister.js";
import { addGenerationsCommand } from "./commands/generations.js";
import { addHeartbeatCommand } from "./commands/heartbeat.js";
import { addIntentionCommands } from "./commands/intention.js";
import { addLabCommands } from "./commands/lab.js";
import { addListCommand } from "./commands/list.js";
import { addPolicyCommands } from "./commands/policy.js";
import { addRegisterCommand } from "./commands/register.js";
import { addRollbackCommand } from "./commands/rollback.js";
import { addServeCommand } from "./commands/serve.js";
import { addStatusCommand } from "./commands/status.js";
import { addTokenCommands } from "./commands/token.js";
import { createContext, type CliContext, type CliIo } from "./context.js";
import { ProblemsError } from "./problems-error.js";
import { readVersion } from "./version.js";

export type { CliIo, SignalSource, StopSignal } from "./context.js";

const COMMANDS = ["serve", "register", "deregister", "heartbeat", "list", "status", "generations", "approve", "rollback", "bootstrap", "token", "cert", "intention", "policy", "lab", "demo"];

/**
 * Runs the `steadymesh` command line. `argv` is shaped like `process.argv`
 * (node, script, then the arguments). Resolves with the exit status: 0 on
 * success and for `--help`, 1 on any error, which is written to stderr as
 * exactly one line, `steadymesh: error: <what is wrong and what is allowed>`
 * (a bad policy file: one such line per problem, then a summary line).
 * Never calls process.exit itself (only `serve`, on a second stop signal).
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const context = createContext(io);
  if (argv.length <= 2) {
    return fail(io, `missing command; use one of ${COMMANDS.join(", ")} (see 'steadymesh --help')`);
  }
  const state = { command: "" };
  const program = buildProgram(context, state);
  try {
    await program.parseAsync([...argv], { from: "node" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and friends arrive here too, as "errors" with exit code 0.
      if (err.exitCode === 0) return 0;
      const help = state.command ? `steadymesh ${state.command} --help` : "steadymesh --help";
      return fail(io, `${oneLine(err.message).replace(/^error:\s*/, "").replace(/\.$/, "")} (see '${help}')`);
    }
    if (err instanceof ProblemsError) {
      for (const line of err.lines) fail(io, line);
    }
    return fail(io, err instanceof Error ? err.message : String(err));
  }
}

function buildProgram(context: CliContext, state: { command: string }): Command {
  const program = new Command("steadymesh")
    .description("service-discovery control plane for gRPC and Envoy")
    .version(readVersion(), "-V, --version", "print steadymesh's version and exit")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void context.io.stdout.write(text),
      writeErr: (text) => void context.io.stderr.write(text),
      // main prints commander's errors itself, as one line.
      outputError: () => undefined,
    })
    // Remembered so a usage error can point at the right --help.
    .hook("preSubcommand", (_program, subcommand) => {
      state.command = subcommand.name();
    });
  // Subcommands made by program.command() inherit exitOverride and configureOutput.
  addServeCommand(program, context);
  addRegisterCommand(program, context);
  addDeregisterCommand(program, context);
  addHeartbeatCommand(program, context);
  addListCommand(program, context);
  addStatusCommand(program, context);
  addGenerationsCommand(program, context);
  addApproveCommand(program, context);
  addRollbackCommand(program, context);
  addBootstrapCommand(program, context);
  addTokenCommands(program, context);
  addCertCommand(program, context);
  addIntentionCommands(program, context);
  addPolicyCommands(program, context);
  addLabCommands(program, context);
  return program;
}

function fail(io: CliIo, message: string): number {
  io.stderr.write(`steadymesh: error: ${oneLine(message)}\n`);
  return 1;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
