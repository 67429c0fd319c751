/** The admin HTTP API: register/deregister, inspect the registry and xDS clients, health and metrics. */
export { createAdminServer, DEFAULT_BODY_LIMIT, type AdminAddress, type AdminDeps, type AdminServer } from "./admin-server.js";
export type { ServiceJson } from "./routes.js";
