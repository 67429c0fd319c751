/**
 * Loaded with `--import` (through NODE_OPTIONS) into the gateway processes
 * of an `xds-dns-fallback` cohort only, before anything else: it installs
 * the host-resolver model of mesh-lookup.ts with the server and domain the
 * lab's fleet put in the environment. Without them it does nothing.
 */
import { installMeshLookup, MESH_LOOKUP_ENV } from "./mesh-lookup.js";

const server = process.env[MESH_LOOKUP_ENV.server];
const domain = process.env[MESH_LOOKUP_ENV.domain];
if (server && domain) installMeshLookup({ server, domain });
