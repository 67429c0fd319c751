// No imports: the CLI reads these at run time without loading the admin server.

/** Services a page of `GET /v1/services` holds unless `limit` says otherwise. */
export const SERVICES_PAGE_DEFAULT = 1000;
/** The largest `limit` a page may ask for. */
export const SERVICES_PAGE_MAX = 5000;
/**
 * A page also stops once its services take this many characters of JSON (it
 * always holds one), so one answer never serializes, or holds the event loop
 * for, much more than that: a service can carry 20,000 instances.
 */
export const SERVICES_PAGE_CHARS = 1024 * 1024;
