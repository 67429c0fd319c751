// No imports: the CLI reads these at run time, and every CLI command would otherwise load the admin
// server and the xDS code (fastify, grpc-js) before it starts.

/** Clients a page of `GET /v1/clients` holds unless `limit` says otherwise. */
export const CLIENTS_PAGE_DEFAULT = 100;
/** The largest `limit` a page may ask for. */
export const CLIENTS_PAGE_MAX = 1000;
/** A page stops early once its clients take this many characters of JSON (it always holds at least one). */
export const CLIENTS_PAGE_CHARS = 1024 * 1024;
