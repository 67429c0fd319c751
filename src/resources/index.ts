/**
 * Public face of src/resources: one module per xDS resource type (listener,
 * route, cluster, endpoint), each with decode, validate (every problem at
 * its field path) and equal, after grpc-js-xds's XdsResourceType classes.
 * The builder's checks, the push guard and the resolver all read resources
 * through here, so they decode each resource once and judge it alike.
 */
export { decodeResource, equalDecoded, type AnyDecoded, type Decoded } from "./decode.js";
export { RESOURCE_KINDS, checkResource, decodeProblem, referencesOf, validateDecoded, type Checked } from "./check.js";
export type { Reference, ResourceType } from "./resource-type.js";
export { joinPath, type Findings } from "./fields.js";
export { edsServiceName } from "./cluster.js";
export { endpointKey, endpointKeys } from "./endpoint.js";
export { CERTIFICATE_FILES, CERTIFICATE_METADATA_KEY, CERTIFICATE_PROVIDER_INSTANCE, SERVER_LISTENER_TEMPLATE, spiffeIdOf } from "./security-names.js";
