/**
 * Names that the xDS security resources (src/snapshot/security-resources.ts)
 * and the bootstraps `steadymesh bootstrap` writes (src/xds/bootstrap.ts)
 * must agree on. No imports: the bootstrap command loads this without the codec.
 */

/** The `certificate_providers` entry (file_watcher) that holds a workload's certificate, key and CA. */
export const CERTIFICATE_PROVIDER_INSTANCE = "steadymesh";

/** `server_listener_resource_name_template` (gRFC A36), gRPC's own convention; `%s` is the address the XdsServer binds. */
export const SERVER_LISTENER_TEMPLATE = "grpc/server?xds.resource.listening_address=%s";

/** The files `steadymesh cert SERVICE --dir DIR` writes, in the layout the file_watcher provider reads. */
export const CERTIFICATE_FILES = Object.freeze({ certificate: "certificate.pem", privateKey: "private_key.pem", ca: "ca.pem" });

/** `spiffe://<trust domain>/service/<service>`: the URI SAN of the service's workload certificates. */
export function spiffeIdOf(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/service/${service}`;
}

/**
 * The node metadata key `steadymesh bootstrap --certs` sets (to
 * CERTIFICATE_PROVIDER_INSTANCE): the node's bootstrap has the provider that
 * mTLS Clusters and server Listeners name. The push guard reads it from
 * connected clients before it lets a service turn `strict`.
 */
export const CERTIFICATE_METADATA_KEY = "steadymesh.certificate_provider";
