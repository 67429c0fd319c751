/**
 * The xDS security of one service (issue 16; gRFC A29, A36, A41), as pure
 * functions of its `mtls` mode and the intentions whose destination it is:
 * - a server Listener per instance, which a stock XdsServer asks for by the
 *   name `server_listener_resource_name_template` makes of the address it
 *   binds; its one filter chain carries a DownstreamTlsContext under
 *   `strict`, and the RBAC HTTP filter when intentions deny anyone;
 * - under `strict`, an UpstreamTlsContext on the service's Cluster, which
 *   makes stock clients (XdsChannelCredentials) dial it over mTLS and check
 *   that the server is `spiffe://<trust domain>/service/<service>`.
 *
 * `permissive` is plain text on the wire, like `off`: a gRPC server picks its
 * filter chain by addresses and ports only (A36: transport_protocol must be
 * `raw_buffer`), so one port cannot take TLS and plain text at once. Every
 * caller is served, and none is authenticated. Istio's proxyless gRPC treats
 * PERMISSIVE the same way. docs/security-xds.md says more.
 */
import {
  DOWNSTREAM_TLS_CONTEXT_TYPE_NAME,
  HTTP_CONNECTION_MANAGER_TYPE_NAME,
  LISTENER_TYPE,
  RBAC_TYPE_NAME,
  ROUTER_TYPE_NAME,
  UPSTREAM_TLS_CONTEXT_TYPE_NAME,
  type Cluster,
  type Codec,
  type CommonTlsContext,
  type HttpFilter,
  type Listener,
  type Rbac,
  type RbacPolicy,
  type TransportSocket,
} from "../proto/index.js";
import type { Instance, ServiceEntry } from "../registry/index.js";
import { CERTIFICATE_PROVIDER_INSTANCE, SERVER_LISTENER_TEMPLATE, spiffeIdOf } from "../resources/index.js";
import { compareStrings, createResource } from "./assemble.js";
import type { Resource } from "./snapshot.js";

/** Per service: `off` (default), `permissive` or `strict` (DESIGN.md, traffic policy). */
export type MtlsMode = "off" | "permissive" | "strict";

/** `steadymesh intention allow|deny SOURCE DESTINATION`. */
export interface Intention {
  readonly source: string;
  readonly destination: string;
  readonly action: "allow" | "deny";
}

/** What one destination service needs to build its security resources. */
export interface ServiceSecurity {
  readonly mode: MtlsMode;
  /** What happens to a caller no intention names; `allow` when the service sets none. */
  readonly defaultAction: "allow" | "deny";
  /** Intentions whose destination is this service (others are ignored). */
  readonly intentions: readonly Intention[];
}

/** Mesh-wide settings, the same for every service. */
export interface SecurityOptions {
  /** `--trust-domain`, e.g. `steadymesh.local`. */
  readonly trustDomain: string;
  /** The `certificate_providers` key `steadymesh bootstrap --certs` writes; default CERTIFICATE_PROVIDER_INSTANCE (src/resources). */
  readonly providerInstance?: string;
  /** The bootstrap's `server_listener_resource_name_template`; default SERVER_LISTENER_TEMPLATE. */
  readonly listenerTemplate?: string;
  /** `--dns-domain` (default `mesh`): names a DNS fallback's default host, `{service}.service.{dnsDomain}` (dns-fallback.ts). */
  readonly dnsDomain?: string;
}

/** The transport socket name gRPC clients and servers require. */
export const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
export const RBAC_FILTER_NAME = "envoy.filters.http.rbac";
const ROUTER_FILTER_NAME = "envoy.filters.http.router";
const CONNECTION_MANAGER_FILTER_NAME = "envoy.filters.network.http_connection_manager";

/** What a service gets without a policy: nothing changes for it. */
export const DEFAULT_SERVICE_SECURITY: ServiceSecurity = Object.freeze({ mode: "off", defaultAction: "allow", intentions: Object.freeze([]) });

/** The source of an intention that sets its destination's default, as in Consul (`intention deny '*' orders`). */
export const ANY_SOURCE = "*";

/**
 * `destination`'s security from its mode and the mesh's intentions: the
 * intentions whose destination it is, and its default from the one whose
 * source is ANY_SOURCE (allow without one). Intentions are assumed unique
 * per (source, destination): the registry keeps the last one set.
 */
export function serviceSecurityOf(destination: string, mode: MtlsMode, intentions: readonly Intention[]): ServiceSecurity {
  const own = intentions.filter((intention) => intention.destination === destination);
  const fallback = own.find((intention) => intention.source === ANY_SOURCE);
  return { mode, defaultAction: fallback?.action ?? "allow", intentions: own.filter((intention) => intention.source !== ANY_SOURCE) };
}

/**
 * `host:port` as an XdsServer is bound (`server.bindAsync("127.0.0.1:50051")`,
 * IPv6 in brackets); the template's `%s` becomes exactly this string, so the
 * server must bind the instance's registered address, not a wildcard.
 */
export function listeningAddressOf(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The name of the Listener an XdsServer bound to `address:port` asks for. */
export function serverListenerName(address: string, port: number, template: string = SERVER_LISTENER_TEMPLATE): string {
  return template.replace(/%s/g, listeningAddressOf(address, port));
}

/**
 * The server Listener of `instance` (gRFC A36): its address, and one filter
 * chain (no match: every connection) whose HttpConnectionManager has inline
 * routes with `non_forwarding_action` (a gRPC server rejects any other
 * action), the RBAC filter when rbacFor gives one, and the router.
 */
export function serverListenerFor(instance: Pick<Instance, "service" | "address" | "port">, security: ServiceSecurity, options: SecurityOptions, codec: Codec): Listener {
  const name = serverListenerName(instance.address, instance.port, options.listenerTemplate);
  const rbac = rbacFor(instance.service, security, options.trustDomain);
  const filters: HttpFilter[] = rbac ? [{ name: RBAC_FILTER_NAME, typed_config: codec.packAny(RBAC_TYPE_NAME, rbac) }] : [];
  filters.push({ name: ROUTER_FILTER_NAME, typed_config: codec.packAny(ROUTER_TYPE_NAME, {}) });
  const connectionManager = codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, {
    // The mode is in the stat_prefix (which gRPC ignores) so that a change of mode always changes the
    // filter's bytes: grpc-js-xds 1.14.1 compares transport sockets wrongly (server-listener.js,
    // filterChainsEquivalent) and takes strict → permissive for "no change", or throws on permissive → strict.
    stat_prefix: `${instance.service}.${security.mode}`,
    route_config: {
      name: instance.service,
      virtual_hosts: [{ name: instance.service, domains: ["*"], routes: [{ match: { prefix: "" }, non_forwarding_action: {} }] }],
    },
    http_filters: filters,
  });
  const transport = security.mode === "strict" ? downstreamTransportSocket(options, codec) : undefined;
  return {
    name,
    address: { socket_address: { address: instance.address, port_value: instance.port } },
    filter_chains: [
      {
        name: `${instance.service}-inbound`,
        filters: [{ name: CONNECTION_MANAGER_FILTER_NAME, typed_config: connectionManager }],
        ...(transport ? { transport_socket: transport } : {}),
      },
    ],
  };
}

/**
 * The RBAC filter config for `destination`, or undefined when it would let
 * every caller through (default allow and no deny intention), so that a
 * service without intentions needs no RBAC support in its server.
 * - default allow: action DENY, one policy `deny:<source>` per deny intention;
 * - default deny: action ALLOW, one policy `allow:<source>` per allow
 *   intention (none: every call is denied).
 * Policies match the caller's certificate (URI SAN) exactly, for any method.
 * Only `strict` authenticates callers: under `off` and `permissive` a policy
 * naming a source matches no one, so default deny denies every caller there.
 */
export function rbacFor(destination: string, security: ServiceSecurity, trustDomain: string): Rbac | undefined {
  const wanted = security.defaultAction === "allow" ? "deny" : "allow";
  const sources = [...new Set(security.intentions.filter((i) => i.destination === destination && i.action === wanted).map((i) => i.source))].sort(compareStrings);
  if (security.defaultAction === "allow" && sources.length === 0) return undefined;
  const policies: Record<string, RbacPolicy> = {};
  for (const source of sources) {
    policies[`${wanted}:${source}`] = {
      permissions: [{ any: true }],
      principals: [{ authenticated: { principal_name: { exact: spiffeIdOf(trustDomain, source) } } }],
    };
  }
  return { rules: { action: security.defaultAction === "allow" ? "DENY" : "ALLOW", policies } };
}

/** Under `strict`: mTLS to `service`'s endpoints, whose certificate must name the service; otherwise undefined. */
export function upstreamTransportSocket(service: string, mode: MtlsMode, options: SecurityOptions, codec: Codec): TransportSocket | undefined {
  if (mode !== "strict") return undefined;
  const provider = { instance_name: options.providerInstance ?? CERTIFICATE_PROVIDER_INSTANCE };
  const common: CommonTlsContext = {
    tls_certificate_provider_instance: provider,
    validation_context: { ca_certificate_provider_instance: provider, match_subject_alt_names: [{ exact: spiffeIdOf(options.trustDomain, service) }] },
  };
  return { name: TLS_TRANSPORT_SOCKET, typed_config: codec.packAny(UPSTREAM_TLS_CONTEXT_TYPE_NAME, { common_tls_context: common }) };
}

/** `cluster` with the UpstreamTlsContext its service's mode calls for (the same object when none). */
export function withClusterSecurity(cluster: Cluster, mode: MtlsMode, options: SecurityOptions, codec: Codec): Cluster {
  const transport = upstreamTransportSocket(cluster.name, mode, options, codec);
  return transport ? { ...cluster, transport_socket: transport } : cluster;
}

/** The server certificate and key, and the CA that client certificates must chain to; a client certificate is required. */
function downstreamTransportSocket(options: SecurityOptions, codec: Codec): TransportSocket {
  const provider = { instance_name: options.providerInstance ?? CERTIFICATE_PROVIDER_INSTANCE };
  const context = {
    common_tls_context: { tls_certificate_provider_instance: provider, validation_context: { ca_certificate_provider_instance: provider } },
    require_client_certificate: { value: true },
  };
  return { name: TLS_TRANSPORT_SOCKET, typed_config: codec.packAny(DOWNSTREAM_TLS_CONTEXT_TYPE_NAME, context) };
}

/**
 * Every server Listener of `entry`, one per instance whatever its health (a
 * server needs its Listener before it can turn healthy), in name order.
 * Two instances on one address and port share one Listener. Throws what the
 * codec throws.
 */
export function encodeServerListeners(entry: ServiceEntry, security: ServiceSecurity, options: SecurityOptions, codec: Codec): Resource[] {
  const byName = new Map<string, Resource>();
  for (const instance of entry.instances.values()) {
    const listener = serverListenerFor(instance, security, options, codec);
    if (!byName.has(listener.name)) byName.set(listener.name, createResource(LISTENER_TYPE, listener.name, codec.encodeResource(LISTENER_TYPE, listener)));
  }
  return [...byName.values()].sort((a, b) => compareStrings(a.name, b.name));
}
