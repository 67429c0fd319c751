import { HTTP_CONNECTION_MANAGER_TYPE_NAME, RESOURCE_TYPES, ROUTER_TYPE_NAME, type Codec, type ResourceTypeUrl } from "../../src/proto/index.js";
import { createResource, createSnapshot, type Snapshot } from "../../src/snapshot/index.js";

/**
 * Hand-written xDS messages for service `greeter`, valid unless a case
 * changes them: the building blocks of the guard's and the resources'
 * validation tables.
 */
export function xdsMessages(codec: Codec) {
  const ADS = { ads: {}, resource_api_version: "V3" };
  const router = () => ({ name: "envoy.filters.http.router", typed_config: codec.packAny(ROUTER_TYPE_NAME, {}) });
  const hcm = (fields: object = {}) => ({ stat_prefix: "greeter", rds: { config_source: ADS, route_config_name: "greeter" }, http_filters: [router()], ...fields });
  const packHcm = (fields: object = {}) => codec.packAny(HTTP_CONNECTION_MANAGER_TYPE_NAME, hcm(fields) as never);
  const forward = (fields: object = {}) => ({ match: { prefix: "" }, route: { cluster: "greeter", ...fields } });
  const vhost = (fields: object = {}) => ({ name: "greeter", domains: ["*"], routes: [forward()], ...fields });
  const cluster = (fields: object = {}) => ({
    name: "greeter", type: "EDS", eds_cluster_config: { eds_config: ADS, service_name: "greeter" }, lb_policy: "ROUND_ROBIN", ...fields,
  });
  const endpoint = (address: string, port: number, fields: object = {}) => ({
    endpoint: { address: { socket_address: { address, port_value: port } } }, health_status: "HEALTHY", ...fields,
  });
  const group = (lbEndpoints: object[], fields: object = {}) => ({
    locality: { region: "r", zone: "z" }, load_balancing_weight: { value: 1 }, lb_endpoints: lbEndpoints, ...fields,
  });
  return {
    ADS,
    OTHER_ANY: { type_url: "type.googleapis.com/example.Unknown", value: new Uint8Array() },
    router,
    hcm,
    packHcm,
    listener: (hcmFields: object = {}, fields: object = {}) => ({ name: "greeter", api_listener: { api_listener: packHcm(hcmFields) }, ...fields }),
    forward,
    vhost,
    routeConfig: (hosts: object[] = [vhost()]) => ({ name: "greeter", virtual_hosts: hosts }),
    cluster,
    endpoint,
    group,
    cla: (...groups: object[]) => ({ cluster_name: "greeter", endpoints: groups }),
  };
}

/** `base` with its resource `greeter` of `type` replaced by `body`. */
export function withBody(base: Snapshot, type: ResourceTypeUrl, body: Uint8Array): Snapshot {
  const maps = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, new Map(base.resources[t])]));
  maps[type]?.set("greeter", createResource(type, "greeter", body));
  return createSnapshot(base.revision, maps);
}
