/**
 * grpc-js-xds 1.14's own resource validators (its XdsResourceType classes),
 * for tests that cross-check ours against them on the same bytes.
 */
import { createRequire } from "node:module";
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, type ResourceTypeUrl } from "../../src/proto/index.js";

interface StockResourceType {
  decode(context: object, resource: { type_url: string; value: Buffer }): { error?: string };
}

let stock: Promise<Record<ResourceTypeUrl, StockResourceType>> | undefined;

function loadStock(): Promise<Record<ResourceTypeUrl, StockResourceType>> {
  stock ??= import("@grpc/grpc-js-xds").then((xds) => {
    xds.register(); // registers the HTTP filters and LB policies the validators look up
    const require = createRequire(import.meta.url);
    const dir = "@grpc/grpc-js-xds/build/src/xds-resource-type";
    return {
      [LISTENER_TYPE]: require(`${dir}/listener-resource-type.js`).ListenerResourceType.get(),
      [ROUTE_TYPE]: require(`${dir}/route-config-resource-type.js`).RouteConfigurationResourceType.get(),
      [CLUSTER_TYPE]: require(`${dir}/cluster-resource-type.js`).ClusterResourceType.get(),
      [ENDPOINT_TYPE]: require(`${dir}/endpoint-resource-type.js`).EndpointResourceType.get(),
    };
  });
  return stock;
}

/**
 * grpc-js-xds's verdict on `bytes` as a resource of `type`: its decode
 * error, or undefined when it accepts them. A validator that throws rejects
 * the resource too: `threw: <error>`.
 */
export async function stockError(type: ResourceTypeUrl, bytes: Uint8Array): Promise<string | undefined> {
  const validators = await loadStock();
  try {
    return validators[type].decode({ bootstrap: { certificateProviders: {} } }, { type_url: type, value: Buffer.from(bytes) }).error;
  } catch (error) {
    return `threw: ${String(error)}`;
  }
}

/** True when grpc-js-xds accepts `bytes` as a resource of `type`. */
export async function stockAccepts(type: ResourceTypeUrl, bytes: Uint8Array): Promise<boolean> {
  return (await stockError(type, bytes)) === undefined;
}
