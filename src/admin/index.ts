/** The admin HTTP API: register/deregister, inspect the registry and xDS clients, health and metrics. */
export { createAdminServer, DEFAULT_BODY_LIMIT, type AdminAddress, type AdminDeps, type AdminServer } from "./admin-server.js";
export type { AdminAuth } from "./auth-check.js";
export type { ServiceJson } from "./routes.js";
export { CLIENTS_PAGE_CHARS, CLIENTS_PAGE_DEFAULT, CLIENTS_PAGE_MAX, type ClientsPage } from "./clients-page.js";
