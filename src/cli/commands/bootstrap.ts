import type { Command } from "commander";
// bootstrap.ts, not the xds index: it has no run-time imports, so this command does not load gRPC.
import { buildBootstrap } from "../../xds/bootstrap.js";
import type { CliContext } from "../context.js";
import { hostPort, nonEmpty } from "../parse.js";

interface BootstrapOptions {
  readonly nodeId: string;
  readonly xds?: string[];
  readonly ignoreResourceDeletion?: boolean;
  readonly zone?: string;
  readonly region?: string;
  readonly certs?: string;
}

const DEFAULT_XDS = "127.0.0.1:18000";

/** `steadymesh bootstrap --node-id ID [--xds HOST:PORT…] [--certs DIR]`: prints a bootstrap for stock gRPC xDS clients and servers. */
export function addBootstrapCommand(program: Command, context: CliContext): void {
  program
    .command("bootstrap")
    .description("print a gRPC xDS bootstrap JSON (for GRPC_XDS_BOOTSTRAP) pointing at steadymesh")
    .requiredOption("--node-id <id>", "xDS node id of the client", nonEmpty)
    .option("--xds <host:port...>", `xDS server(s), in order of preference (default: ${DEFAULT_XDS})`, collectHostPort)
    .option("--ignore-resource-deletion", "add the ignore_resource_deletion server feature: clients keep resources the server stops sending")
    .option("--zone <zone>", "node locality zone")
    .option("--region <region>", "node locality region")
    .option("--certs <dir>", "add the file_watcher certificate provider for mTLS, reading the files `steadymesh cert SERVICE --dir DIR` writes", nonEmpty)
    .action((options: BootstrapOptions) => {
      context.print(JSON.stringify(buildBootstrap({ ...options, xds: options.xds ?? [DEFAULT_XDS] }), null, 2));
    });
}

/** Commander hands a variadic option's values one at a time; with no default, the first call has none before it. */
function collectHostPort(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), hostPort(value)];
}
