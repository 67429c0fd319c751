import * as grpc from "@grpc/grpc-js";
import { isIP } from "node:net";
// The type only; see discovery.ts for why this module is used directly.
import type { DnsSource } from "../client/dns-source.js";
import type { Clock } from "../clock/index.js";
import type { Logger } from "../log/index.js";
import { RpcFailure } from "./rpc.js";
import type { Upstream } from "./upstream.js";

/**
 * Plain DNS discovery, as most Spotify services had it: ask for
 * `_<service>._tcp.service.<domain>` SRV every `refreshMs`, and talk to all
 * the answers with round robin through an `ipv4:` (or `ipv6:`) target list.
 * A lookup that fails or finds nothing keeps the previous endpoints, as
 * grpc-js's own DNS resolver does, so only a process that never got an
 * answer fails its calls (UNAVAILABLE, with the DNS reason).
 */
export interface DnsChannelOptions {
  readonly service: string;
  readonly source: Pick<DnsSource, "lookup" | "srvName">;
  readonly refreshMs: number;
  /** Makes a channel for a target such as `ipv4:127.0.0.1:5001,127.0.0.1:5002`. */
  readonly createClient: (target: string) => grpc.Client;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** How long a replaced channel stays open, so calls already on it can finish. */
const RETIRE_MS = 10_000;

export function createDnsChannel(options: DnsChannelOptions): Upstream {
  const { service, source, clock, logger } = options;
  const target = `dns:${source.srvName(service)}`;
  let current: { readonly address: string; readonly client: grpc.Client } | undefined;
  let lastFailure = "no answer yet";
  let closed = false;
  const timers = new Set<() => void>();

  const schedule = (fn: () => void, ms: number): void => {
    const cancel = clock.setTimeout(() => {
      timers.delete(cancel);
      fn();
    }, ms);
    timers.add(cancel);
  };

  function apply(address: string): void {
    if (current?.address === address) return;
    const previous = current;
    current = { address, client: options.createClient(address) };
    logger.info({ target, address }, "DNS endpoints changed");
    if (previous) schedule(() => previous.client.close(), RETIRE_MS);
  }

  async function refresh(): Promise<void> {
    const result = await source.lookup(service);
    if (closed) return;
    const address = result.ok ? addressList(result.endpoints) : undefined;
    if (address) apply(address);
    else {
      const reason = result.ok ? "no usable addresses" : result.reason;
      if (reason !== lastFailure) logger.warn({ target, reason, keeping: current?.address ?? null }, "DNS lookup failed");
      lastFailure = reason;
    }
    schedule(() => void refresh(), options.refreshMs);
  }

  const first = refresh();
  return {
    target,
    async client() {
      if (!current && !closed) await first;
      if (closed) throw new RpcFailure(grpc.status.UNAVAILABLE, `${target}: channel closed`);
      if (!current) throw new RpcFailure(grpc.status.UNAVAILABLE, `${target}: no endpoints from DNS (${lastFailure})`);
      return current.client;
    },
    close() {
      closed = true;
      for (const cancel of timers) cancel();
      timers.clear();
      current?.client.close();
      current = undefined;
    },
  };
}

/**
 * A grpc-js target naming every endpoint: `ipv4:a:p,b:q`, or `ipv6:[a]:p,…`
 * when there is no IPv4 endpoint (one target cannot mix the two schemes).
 * Undefined for an empty list.
 */
export function addressList(endpoints: readonly { readonly address: string; readonly port: number }[]): string | undefined {
  const v4 = endpoints.filter((e) => isIP(e.address) === 4);
  if (v4.length > 0) return `ipv4:${v4.map((e) => `${e.address}:${e.port}`).join(",")}`;
  const v6 = endpoints.filter((e) => isIP(e.address) === 6);
  if (v6.length > 0) return `ipv6:${v6.map((e) => `[${e.address}]:${e.port}`).join(",")}`;
  return undefined;
}
