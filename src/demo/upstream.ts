import type * as grpc from "@grpc/grpc-js";
import { callUnary, upstreamFailure } from "./rpc.js";

/** How a process reaches one upstream service, whatever the discovery mode. */
export interface Upstream {
  /** What is being resolved, for logs and error details: `xds:///login`, `dns:_login._tcp.service.mesh`. */
  readonly target: string;
  /** The client to call now; rejects with RpcFailure (UNAVAILABLE) when there is none. */
  client(): Promise<grpc.Client>;
  /** Closes every channel; later calls fail. */
  close(): void;
}

/** An upstream with one fixed channel: grpc-js resolves the target itself (`xds:`, `steady:`). */
export function fixedUpstream(target: string, client: grpc.Client): Upstream {
  return { target, client: async () => client, close: () => client.close() };
}

/**
 * One call to `service` through `upstream`. Rejects with an RpcFailure whose
 * details start with the service name, e.g. `accounts: No connection established`.
 */
export async function callUpstream<Req, Res>(
  service: string,
  upstream: Upstream,
  method: grpc.MethodDefinition<Req, Res>,
  request: Req,
  deadlineMs: number,
): Promise<Res> {
  try {
    return await callUnary(await upstream.client(), method, request, deadlineMs);
  } catch (err) {
    throw upstreamFailure(service, err);
  }
}
