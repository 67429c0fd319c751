/** The demo's processes: three gRPC services and the HTTP gateway in front of them. */
export const DEMO_KINDS = ["accounts", "login", "playback", "gateway"] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];

/**
 * How a demo process finds an upstream: the stock @grpc/grpc-js-xds client
 * (`xds:///S`), steadymesh's resolver (`steady:///S`), or DNS SRV alone.
 */
export const DISCOVERY_MODES = ["xds", "steady", "dns"] as const;
export type DiscoveryMode = (typeof DISCOVERY_MODES)[number];

/** The steadymesh service each kind registers as; gateways are not registered. */
export const SERVICE_OF_KIND: Readonly<Record<DemoKind, string | undefined>> = Object.freeze({
  accounts: "accounts",
  login: "login",
  playback: "playback",
  gateway: undefined,
});

/** The one line a demo process prints on stdout once it is serving (and registered). */
export const READY_LINE = /^demo: (accounts|login|playback|gateway) (\S+) listening on 127\.0\.0\.1:(\d+)$/;

export function readyLine(kind: DemoKind, id: string, port: number): string {
  return `demo: ${kind} ${id} listening on 127.0.0.1:${port}`;
}
