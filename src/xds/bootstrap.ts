import { join } from "node:path";
// The file, not the resources index: the bootstrap command must not load the codec (see cli/commands/bootstrap.ts).
import { CERTIFICATE_FILES, CERTIFICATE_METADATA_KEY, CERTIFICATE_PROVIDER_INSTANCE, SERVER_LISTENER_TEMPLATE } from "../resources/security-names.js";

/** A gRPC xDS bootstrap file (the `GRPC_XDS_BOOTSTRAP` format). */
export interface Bootstrap {
  readonly xds_servers: readonly {
    readonly server_uri: string;
    readonly channel_creds: readonly { readonly type: string }[];
    readonly server_features: readonly string[];
  }[];
  readonly node: {
    readonly id: string;
    readonly locality: { readonly region?: string; readonly zone?: string };
    /** With `certs`: CERTIFICATE_METADATA_KEY, so that the push guard knows this node can do mTLS. */
    readonly metadata?: Readonly<Record<string, string>>;
  };
  /** The Listener an XdsServer asks for (gRFC A36); clients ignore it. */
  readonly server_listener_resource_name_template: string;
  /** With `certs`: the file_watcher provider that mTLS Clusters and server Listeners name (gRFC A29). */
  readonly certificate_providers?: Readonly<Record<string, FileWatcherProvider>>;
}

/** A `certificate_providers` entry of plugin `file_watcher`. */
export interface FileWatcherProvider {
  readonly plugin_name: "file_watcher";
  readonly config: {
    readonly certificate_file: string;
    readonly private_key_file: string;
    readonly ca_certificate_file: string;
    /** How often the files are read again: a Duration in JSON (`"10s"`). */
    readonly refresh_interval: string;
  };
}

/** What goes into a bootstrap. */
export interface BootstrapOptions {
  readonly nodeId: string;
  /** HOST:PORT of each xDS server, in order; stock grpc-js-xds uses only the first. */
  readonly xds: readonly string[];
  readonly ignoreResourceDeletion?: boolean;
  readonly zone?: string;
  readonly region?: string;
  /** The folder `steadymesh cert SERVICE --dir DIR` writes to (`--certs DIR`); absolute, or relative to the workload's working directory. */
  readonly certs?: string;
}

/**
 * How often a workload reads its certificate files again. gRPC's default is
 * 10 minutes; `cert --watch` renews at half a certificate's lifetime, so a
 * short-lived certificate (a 2-minute one in the renewal test) must be seen
 * well before it expires.
 */
export const CERTIFICATE_REFRESH_INTERVAL = "10s";

/** The bootstrap a stock gRPC xDS client or XdsServer needs to use steadymesh (`steadymesh bootstrap` prints it). */
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
      ...(options.certs !== undefined && { metadata: { [CERTIFICATE_METADATA_KEY]: CERTIFICATE_PROVIDER_INSTANCE } }),
    },
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
    ...(options.certs !== undefined && { certificate_providers: { [CERTIFICATE_PROVIDER_INSTANCE]: fileWatcher(options.certs) } }),
  };
}

function fileWatcher(dir: string): FileWatcherProvider {
  return {
    plugin_name: "file_watcher",
    config: {
      certificate_file: join(dir, CERTIFICATE_FILES.certificate),
      private_key_file: join(dir, CERTIFICATE_FILES.privateKey),
      ca_certificate_file: join(dir, CERTIFICATE_FILES.ca),
      refresh_interval: CERTIFICATE_REFRESH_INTERVAL,
    },
  };
}
