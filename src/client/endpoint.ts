/** One address a client may send RPCs to. */
export interface ResolvedEndpoint {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly zone?: string;
  readonly region?: string;
}

/** `10.0.0.1:8080` or `[fd00::1]:8080`: the identity of an endpoint, for deduplication and logs. */
export function endpointKey(endpoint: Pick<ResolvedEndpoint, "address" | "port">): string {
  const host = endpoint.address.includes(":") ? `[${endpoint.address}]` : endpoint.address;
  return `${host}:${endpoint.port}`;
}

/** Orders by address, then port; a total order, so sorted lists compare equal when their sets do. */
export function compareEndpoints(a: ResolvedEndpoint, b: ResolvedEndpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.port - b.port;
}
