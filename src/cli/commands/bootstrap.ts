import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { hostPort, nonEmpty } from "../parse.js";

interface BootstrapOptions {
  readonly nodeId: string;
  readonly xds?: string[];
  readonly ignoreResourceDeletion?: boolean;
  readonly zone?: string;
  readonly region?: string;
}

const DEFAULT_XDS = "127.0.0.1:18000";

/** A gRPC xDS bootstrap file (the `GRPC_XDS_BOOTSTRAP` format). */
export interface Bootstrap {
  readonly xds_servers: readonly {
    readonly server_uri: string;
    readonly channel_creds: readonly { readonly type: string }[];
    readonly server_features: readonly string[];
  }[];
  readonly node: { readonly id: string; readonly locality: { readonly region?: string; readonly zone?: string } };
}

export function buildBootstrap(options: BootstrapOptions): Bootstrap {
  const features = options.ignoreResourceDeletion ? ["xds_v3", "ignore_resource_deletion"] : ["xds_v3"];
  return {
    xds_servers: (options.xds ?? [DEFAULT_XDS]).map((uri) => ({
      server_uri: uri,
      channel_creds: [{ type: "insecure" }],
      server_features: features,
    })),
    node: {
      id: options.nodeId,
      locality: {
        ...(options.region !== undefined && { region: options.region }),
        ...(options.zone !== undefined && { zone: options.zone }),
      },
    },
  };
}

/** `steadymesh bootstrap --node-id ID [--xds HOST:PORT…]`: prints a bootstrap for stock gRPC xDS clients. */
export function addBootstrapCommand(program: Command, context: CliContext): void {
  program
    .command("bootstrap")
    .description("print a gRPC xDS bootstrap JSON (for GRPC_XDS_BOOTSTRAP) pointing at steadymesh")
    .requiredOption("--node-id <id>", "xDS node id of the client", nonEmpty)
    .option("--xds <host:port...>", `xDS server(s), in order of preference (default: ${DEFAULT_XDS})`, collectHostPort)
    .option("--ignore-resource-deletion", "add the ignore_resource_deletion server feature: clients keep resources the server stops sending")
    .option("--zone <zone>", "node locality zone")
    .option("--region <region>", "node locality region")
    .action((options: BootstrapOptions) => {
      context.print(JSON.stringify(buildBootstrap(options), null, 2));
    });
}

/** Commander hands a variadic option's values one at a time; with no default, the first call has none before it. */
function collectHostPort(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), hostPort(value)];
}
