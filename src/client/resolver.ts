import * as grpc from "@grpc/grpc-js";
import type { TargetState, Resolution } from "./target-state.js";

type GrpcUri = Parameters<typeof grpc.experimental.uriToString>[0];
type ResolverListener = ConstructorParameters<ResolverClass>[1];
type ResolverClass = Parameters<typeof grpc.experimental.registerResolver>[1];

/** Round robin over every endpoint: the resolver hands over all of them, not one. */
const SERVICE_CONFIG = { loadBalancingConfig: [{ round_robin: {} }], methodConfig: [] };

/**
 * Makes the grpc-js Resolver class for `steady:` targets. Each channel gets
 * one resolver; resolvers of the same service share one TargetState.
 */
export function createResolverClass(targetFor: (service: string) => TargetState | string): ResolverClass {
  return class SteadyResolver {
    private readonly cancel: () => void;
    private readonly state: TargetState | undefined;

    constructor(target: GrpcUri, listener: ResolverListener) {
      const service = serviceOf(target);
      const state = targetFor(service);
      if (typeof state === "string") {
        // A bad target name: report it on every resolution, never throw inside grpc-js.
        this.state = undefined;
        this.cancel = () => undefined;
        queueMicrotask(() => report(listener, { ok: false, message: state }));
        return;
      }
      this.state = state;
      this.cancel = state.subscribe((resolution) => report(listener, resolution));
    }

    updateResolution(): void {
      this.state?.refresh();
    }

    destroy(): void {
      this.cancel();
    }

    static getDefaultAuthority(target: GrpcUri): string {
      return serviceOf(target);
    }
  };
}

/** `steady:///login` → `login`. */
function serviceOf(target: GrpcUri): string {
  return target.path.replace(/^\/+/, "");
}

function report(listener: ResolverListener, resolution: Resolution): void {
  const { statusOrFromValue, statusOrFromError } = grpc.experimental;
  if (resolution.ok) {
    const endpoints = resolution.endpoints.map((e) => ({ addresses: [{ host: e.address, port: e.port }] }));
    listener(statusOrFromValue(endpoints), {}, statusOrFromValue(SERVICE_CONFIG as never), `endpoints from ${resolution.source}`);
    return;
  }
  listener(statusOrFromError({ code: grpc.status.UNAVAILABLE, details: resolution.message, metadata: new grpc.Metadata() }), {}, null, resolution.message);
}
