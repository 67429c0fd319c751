/**
 * `steadymesh/client`: a `steady:` resolver for @grpc/grpc-js whose order of
 * truth is live xDS → last-known-good endpoints on disk → DNS SRV, so that a
 * failing control plane never fails an RPC while any known endpoint remains.
 */
import { parseResolverOptions, type SteadyResolverOptions } from "./options.js";
import { startRuntime, type SteadyResolverHandle } from "./runtime.js";

export type { SteadyResolverOptions } from "./options.js";
export type { SteadyEvent, SteadyEventOf, SteadyEventType, SourceName, IgnoredUpdateKind } from "./events.js";
export type { ClientLogger } from "./logger.js";
export type { ResolvedEndpoint } from "./endpoint.js";
export type { SteadyResolverHandle, SteadyStats } from "./runtime.js";
export { RESOLVER_DEFAULTS } from "./options.js";

let active: SteadyResolverHandle | undefined;

/**
 * Registers the `steady:` scheme with the application's @grpc/grpc-js, so
 * `new Client("steady:///login", creds)` resolves `login` through steadymesh.
 * Throws a ValidationError naming every bad option. Calling it again replaces
 * the previous registration (and closes it).
 */
export function registerSteadyResolver(options: SteadyResolverOptions): SteadyResolverHandle {
  const normalized = parseResolverOptions(options);
  void active?.close();
  active = startRuntime(normalized);
  return active;
}
