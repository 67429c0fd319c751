import type { Clock } from "../clock/index.js";
import type { DnsSource } from "./dns-source.js";
import type { EndpointCache } from "./endpoint-cache.js";
import { endpointKey, type ResolvedEndpoint } from "./endpoint.js";
import type { SourceName, SteadyEvent } from "./events.js";
import type { ClientLogger } from "./logger.js";
import { watchTargetChain, type ChainUpdate } from "./target-chain.js";
import type { XdsClient } from "./xds-client.js";

/** What the resolver hands grpc-js for one target. */
export type Resolution =
  | { readonly ok: true; readonly source: SourceName; readonly endpoints: readonly ResolvedEndpoint[] }
  | { readonly ok: false; readonly message: string };

type EventInput = SteadyEvent extends infer E ? (E extends SteadyEvent ? Omit<E, "at"> : never) : never;

export interface TargetDeps {
  readonly xds: XdsClient;
  readonly cache?: EndpointCache;
  readonly dns?: DnsSource;
  readonly clock: Clock;
  readonly startupTimeoutMs: number;
  readonly dnsRefreshMs: number;
  readonly strict: boolean;
  readonly logger: ClientLogger;
  readonly emit: (event: EventInput) => void;
}

/**
 * The order of truth for one target: live xDS endpoints, else the last known
 * good ones (from this process's xDS history or the disk cache), else DNS SRV.
 * Nothing is reported before the first source answers or `startupTimeoutMs`
 * passes, so RPCs wait instead of failing during start-up. An error is
 * reported only when every source is empty or failed.
 */
export class TargetState {
  private xds: ChainUpdate | undefined;
  private lastGood: { endpoints: readonly ResolvedEndpoint[]; from: string } | undefined;
  private cacheStatus: string;
  private dnsResult: { ok: true; endpoints: readonly ResolvedEndpoint[] } | { ok: false; reason: string } | undefined;
  private dnsInFlight = false;
  private cacheRead = false;
  private startupOver = false;
  private current: Resolution | undefined;
  private currentSource: SourceName | "none" = "none";
  private savedKey = "";
  private saving: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(resolution: Resolution) => void>();
  private readonly cancels: Array<() => void> = [];
  private cancelDnsTimer: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly target: string,
    private readonly deps: TargetDeps,
  ) {
    this.cacheStatus = deps.cache ? "not read yet" : "no cacheDir configured";
  }

  start(): void {
    const { deps } = this;
    this.cancels.push(
      watchTargetChain(this.target, { xds: deps.xds, strict: deps.strict, onEmptyIgnored: (eds) => this.onEmptyIgnored(eds) }, (u) => this.onXds(u)),
      deps.xds.onConnectionChange(() => this.evaluate("xDS connection changed")),
      deps.clock.setTimeout(() => {
        this.startupOver = true;
        this.evaluate(`no live xDS data within ${deps.startupTimeoutMs} ms`);
      }, deps.startupTimeoutMs),
    );
    void this.loadCache();
  }

  /** Where the endpoints come from now. */
  source(): SourceName | "none" {
    return this.currentSource;
  }

  subscribe(listener: (resolution: Resolution) => void): () => void {
    this.listeners.add(listener);
    if (this.current) listener(this.current);
    return () => this.listeners.delete(listener);
  }

  /** grpc-js asks for a fresh resolution (e.g. every address failed): re-query DNS if it is in use. */
  refresh(): void {
    if (this.currentSource === "dns" || this.currentSource === "none") void this.queryDns();
  }

  /** Stops every watch and timer; resolves once a cache write in progress has finished. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelDnsTimer?.();
    for (const cancel of this.cancels.splice(0)) cancel();
    this.listeners.clear();
    await this.saving;
  }

  private onXds(update: ChainUpdate): void {
    this.xds = update;
    if (update.status === "ok") {
      this.lastGood = { endpoints: update.endpoints, from: "xDS" };
      this.saving = this.saving.then(() => this.persist(update.endpoints));
    }
    this.evaluate(update.status === "ok" ? "live xDS update" : update.reason);
  }

  private onEmptyIgnored(edsName: string): void {
    this.deps.emit({ type: "update-ignored", target: this.target, kind: "endpoints-empty", detail: `EDS ${edsName} has no endpoints` });
  }

  private async loadCache(): Promise<void> {
    const { cache } = this.deps;
    if (cache) {
      const entry = await cache.load(this.target);
      if (this.closed) return;
      this.cacheRead = true;
      if (entry.ok) {
        this.cacheStatus = `${entry.endpoints.length} endpoints saved at ${entry.savedAt} in ${entry.path}`;
        this.lastGood ??= { endpoints: entry.endpoints, from: `disk cache (${entry.path})` };
        this.evaluate("loaded the last-known-good endpoints from disk");
        return;
      }
      this.cacheStatus = entry.reason;
    }
    this.cacheRead = true;
    if (!this.lastGood) await this.queryDns();
  }

  private async queryDns(): Promise<void> {
    const { dns } = this.deps;
    if (!dns || this.dnsInFlight || this.closed) return;
    this.dnsInFlight = true;
    const result = await dns.lookup(this.target);
    this.dnsInFlight = false;
    if (this.closed) return;
    this.dnsResult = result.ok && result.endpoints.length > 0 ? { ok: true, endpoints: result.endpoints } : { ok: false, reason: result.ok ? "no endpoints" : result.reason };
    this.deps.emit({ type: "dns-result", target: this.target, ok: this.dnsResult.ok, detail: result.ok ? `${result.endpoints.length} endpoints` : result.reason });
    this.evaluate(result.ok ? "DNS answered" : `DNS failed: ${result.reason}`);
  }

  /** Picks the source by the order of truth and tells grpc-js when the answer changes. */
  private evaluate(why: string): void {
    if (this.closed) return;
    // Every xDS server failed and the other sources have answered: no need to wait out the timeout.
    if (this.deps.xds.allServersFailed() && this.cacheRead && (!this.deps.dns || (this.dnsResult && !this.dnsInFlight))) this.startupOver = true;
    const next = this.choose();
    this.scheduleDns(next);
    if (!next.ok && !this.startupOver) return;
    const source = next.ok ? next.source : "none";
    if (source !== this.currentSource) {
      const count = next.ok ? next.endpoints.length : 0;
      const log = source === "none" ? this.deps.logger.error : source === "xds" ? this.deps.logger.info : this.deps.logger.warn;
      log.call(this.deps.logger, { target: this.target, from: this.currentSource, to: source, endpoints: count, reason: why }, `steady:///${this.target} now uses ${source === "none" ? "no source" : source}`);
      this.deps.emit({ type: "source-changed", target: this.target, from: this.currentSource, to: source, reason: why, endpoints: count });
      this.currentSource = source;
    }
    if (this.current && sameResolution(this.current, next)) return;
    this.current = next;
    for (const listener of [...this.listeners]) listener(next);
  }

  private choose(): Resolution {
    const xdsLive = this.deps.xds.isConnected() && this.xds?.status === "ok";
    if (xdsLive && this.xds?.status === "ok") return { ok: true, source: "xds", endpoints: this.xds.endpoints };
    const obeyXds = this.deps.strict && this.deps.xds.isConnected() && this.xds?.status === "missing";
    if (this.lastGood && !obeyXds) return { ok: true, source: "cache", endpoints: this.lastGood.endpoints };
    // DNS is the last resort: xDS gets the start-up window (or must have failed on every server) first.
    if (this.dnsResult?.ok && !obeyXds && this.startupOver) return { ok: true, source: "dns", endpoints: this.dnsResult.endpoints };
    return { ok: false, message: this.describeFailure() };
  }

  /** While neither xDS nor a last-known-good copy serves, keep DNS fresh. */
  private scheduleDns(next: Resolution): void {
    const wanted = this.deps.dns !== undefined && !(next.ok && next.source !== "dns");
    if (!wanted) {
      this.cancelDnsTimer?.();
      this.cancelDnsTimer = undefined;
      return;
    }
    if (this.cancelDnsTimer) return;
    this.cancelDnsTimer = this.deps.clock.setTimeout(() => {
      this.cancelDnsTimer = undefined;
      void this.queryDns();
    }, this.deps.dnsRefreshMs);
  }

  private describeFailure(): string {
    const xds = this.deps.xds.isConnected()
      ? `connected, but ${this.xds?.status === "ok" ? "no endpoints" : (this.xds?.reason ?? "no answer for this target yet")}`
      : this.deps.xds.describe();
    const dns = !this.deps.dns ? "disabled" : this.dnsResult ? (this.dnsResult.ok ? "ok" : this.dnsResult.reason) : "not queried yet";
    return `steady:///${this.target}: no endpoints from any source (xds: ${xds}; cache: ${this.cacheStatus}; dns: ${dns})`;
  }

  private async persist(endpoints: readonly ResolvedEndpoint[]): Promise<void> {
    const { cache } = this.deps;
    const key = endpoints.map(endpointKey).join(",");
    if (!cache || key === this.savedKey) return;
    this.savedKey = key;
    try {
      await cache.save(this.target, { endpoints, source: "xds" });
      this.cacheStatus = `${endpoints.length} endpoints saved from xDS`;
      this.deps.emit({ type: "cache-written", target: this.target, endpoints: endpoints.length });
    } catch (err) {
      this.savedKey = "";
      this.deps.logger.error({ target: this.target, err: err instanceof Error ? err.message : String(err) }, "could not write the endpoint cache");
    }
  }
}

function sameResolution(a: Resolution, b: Resolution): boolean {
  if (a.ok !== b.ok) return false;
  if (!a.ok || !b.ok) return !a.ok && !b.ok && a.message === b.message;
  if (a.source !== b.source || a.endpoints.length !== b.endpoints.length) return false;
  return a.endpoints.every((e, i) => endpointKey(e) === endpointKey(b.endpoints[i]!) && e.weight === b.endpoints[i]!.weight);
}
