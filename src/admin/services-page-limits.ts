// No imports: the CLI reads these at run time without loading the admin server.

/** Services a page of `GET /v1/services` holds unless `limit` says otherwise. */
export const SERVICES_PAGE_DEFAULT = 1000;
/** The largest `limit` a page may ask for. */
export const SERVICES_PAGE_MAX = 5000;
