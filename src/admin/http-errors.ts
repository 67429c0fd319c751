import { SteadyError, type ErrorCode } from "../errors/index.js";

/** What goes back to an HTTP client for one failed request; the body is always `{ "error": message }`. */
export interface HttpError {
  readonly status: number;
  /** One line: what is wrong and what is allowed. */
  readonly message: string;
  /** 5xx errors are our fault: logged at error with the cause; 4xx at warn. */
  readonly internal: boolean;
}

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  "invalid-argument": 400,
  "not-found": 404,
  conflict: 409,
  unavailable: 503,
  unauthenticated: 401,
  "permission-denied": 403,
  internal: 500,
};

/** Options the messages of fastify's own errors depend on. */
export interface ErrorContext {
  readonly bodyLimit: number;
  readonly contentType: string | undefined;
}

/**
 * Maps any error thrown while serving a request to its HTTP status and a
 * one-line message. Our typed errors map by `code`; fastify's body/URL
 * errors are rewritten so they say what is allowed; anything else is a 500
 * whose details stay in the log, never in the response.
 */
export function toHttpError(err: unknown, context: ErrorContext): HttpError {
  if (err instanceof SteadyError) {
    if (err.code === "internal") return internalError();
    const status = STATUS_BY_CODE[err.code];
    return { status, message: oneLine(err.message), internal: status >= 500 };
  }
  const fastifyError = fromFastify(err, context);
  return fastifyError ?? internalError();
}

function internalError(): HttpError {
  return { status: 500, message: "internal error while handling the request; see the server log", internal: true };
}

function fromFastify(err: unknown, context: ErrorContext): HttpError | undefined {
  if (!isCodedError(err)) return undefined;
  const clientError = (status: number, message: string): HttpError => ({ status, message, internal: false });
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return clientError(400, "request body is not valid JSON; it must be a valid JSON object");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return clientError(400, "request body is empty but content-type is application/json; send a JSON object");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return clientError(413, `request body is too large; the limit is ${formatBytes(context.bodyLimit)}`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return clientError(415, `content-type ${JSON.stringify(context.contentType ?? "")} is not supported; application/json is required`);
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return clientError(400, "request body length does not match its content-length header");
    case "FST_ERR_BAD_URL":
      return clientError(400, "URL is not valid: bad percent-encoding; names are DNS labels ([a-z0-9-], 1-63 characters)");
    case "FST_ERR_MAX_PARAM_LENGTH":
      return clientError(414, "a URL path segment is too long; names are DNS labels ([a-z0-9-], 1-63 characters)");
    default:
      // Other fastify client errors (4xx) carry a usable message; anything else is ours.
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
        return clientError(err.statusCode, oneLine(err.message));
      }
      return undefined;
  }
}

interface CodedError {
  readonly code: string;
  readonly message: string;
  readonly statusCode?: number;
}

function isCodedError(err: unknown): err is CodedError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "string";
}

/** `65536 bytes (64 KiB)` */
export function formatBytes(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes} bytes (${bytes / 1024} KiB)` : `${bytes} bytes`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
