/** A gRPC xDS bootstrap file (the `GRPC_XDS_BOOTSTRAP` format). */
export interface Bootstrap {
  readonly xds_servers: readonly {
    readonly server_uri: string;
    readonly channel_creds: readonly { readonly type: string }[];
    readonly server_features: readonly string[];
  }[];
  readonly node: { readonly id: string; readonly locality: { readonly region?: string; readonly zone?: string } };
}

/** What goes into a bootstrap. */
export interface BootstrapOptions {
  readonly nodeId: string;
  /** HOST:PORT of each xDS server, in order; stock grpc-js-xds uses only the first. */
  readonly xds: readonly string[];
  readonly ignoreResourceDeletion?: boolean;
  readonly zone?: string;
  readonly region?: string;
}

/** The bootstrap a stock gRPC xDS client needs to use steadymesh (`steadymesh bootstrap` prints it). */
export function buildBootstrap(options: BootstrapOptions): Bootstrap {
  const features = options.ignoreResourceDeletion ? ["xds_v3", "ignore_resource_deletion"] : ["xds_v3"];
  return {
    xds_servers: options.xds.map((uri) => ({
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

