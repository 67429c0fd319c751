/** Where a target's endpoints currently come from, in the resolver's order of truth. */
export type SourceName = "xds" | "cache" | "dns";

/** Why an xDS update was not applied while a last-known-good copy was kept (gRFC A88). */
export type IgnoredUpdateKind = "listener-deleted" | "cluster-deleted" | "endpoints-empty" | "invalid-resource";

/**
 * What the resolver reports to `onEvent`. Every event carries `at`, the
 * resolver clock's milliseconds when it happened. The union is closed:
 * switch on `type` and let the compiler check exhaustiveness.
 */
export type SteadyEvent =
  | {
      readonly type: "source-changed";
      readonly at: number;
      readonly target: string;
      readonly from: SourceName | "none";
      readonly to: SourceName | "none";
      readonly reason: string;
      /** How many endpoints the new source provides (0 when `to` is "none"). */
      readonly endpoints: number;
    }
  | { readonly type: "xds-connected"; readonly at: number; readonly server: string }
  | { readonly type: "xds-disconnected"; readonly at: number; readonly server: string; readonly reason: string }
  | { readonly type: "xds-failover"; readonly at: number; readonly from: string; readonly to: string; readonly reason: string }
  | { readonly type: "update-ignored"; readonly at: number; readonly target: string; readonly kind: IgnoredUpdateKind; readonly detail: string }
  | { readonly type: "nack"; readonly at: number; readonly typeUrl: string; readonly nonce: string; readonly detail: string }
  | { readonly type: "cache-written"; readonly at: number; readonly target: string; readonly endpoints: number }
  | { readonly type: "dns-result"; readonly at: number; readonly target: string; readonly ok: boolean; readonly detail: string };

/** The `type` tags of SteadyEvent. */
export type SteadyEventType = SteadyEvent["type"];

/** The event variant with the given tag, e.g. `SteadyEventOf<"nack">`. */
export type SteadyEventOf<T extends SteadyEventType> = Extract<SteadyEvent, { type: T }>;
