import { SteadyError } from "../errors/index.js";
import type { Logger } from "../log/index.js";

/** steadymesh's admin API refused or could not be asked to (de)register an instance. */
export class RegistrationError extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

export interface InstanceRef {
  /** Base URL of the admin API, without a trailing slash. */
  readonly adminUrl: string;
  readonly service: string;
  readonly id: string;
  /** The admin API token (scope write); none against `serve --auth off`. */
  readonly token?: string | undefined;
}

/** How long one admin request may take: a dead control plane must not hang a start or a stop. */
const REQUEST_TIMEOUT_MS = 3000;

/** `PUT /v1/services/{service}/instances/{id}` with 127.0.0.1, `port` and `metadata`; throws RegistrationError. */
export async function registerInstance(ref: InstanceRef, port: number, metadata: Readonly<Record<string, string>> = {}): Promise<void> {
  await send(ref, "PUT", { address: "127.0.0.1", port, ...(Object.keys(metadata).length > 0 && { metadata }) }, "register");
}

/** `DELETE /v1/services/{service}/instances/{id}`; an instance already gone (404) counts as done. */
export async function deregisterInstance(ref: InstanceRef, logger: Logger): Promise<void> {
  await send(ref, "DELETE", undefined, "deregister", (status) => {
    if (status === 404) logger.info({ service: ref.service, id: ref.id }, "instance was already deregistered");
    return status === 404;
  });
}

async function send(ref: InstanceRef, method: string, body: object | undefined, verb: string, accept?: (status: number) => boolean): Promise<void> {
  const url = `${ref.adminUrl}/v1/services/${encodeURIComponent(ref.service)}/instances/${encodeURIComponent(ref.id)}`;
  const what = `cannot ${verb} ${ref.service}/${ref.id} at ${ref.adminUrl}`;
  let status: number;
  let text: string;
  try {
    const headers: Record<string, string> = ref.token === undefined ? {} : { authorization: `Bearer ${ref.token}` };
    const response = await fetch(url, {
      method,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    status = response.status;
    text = await response.text();
  } catch (err) {
    throw new RegistrationError(`${what}: ${describe(err)}`, { cause: err });
  }
  if ((status >= 200 && status < 300) || accept?.(status)) return;
  throw new RegistrationError(`${what}: HTTP ${status} ${text.slice(0, 300)}`);
}

/** fetch hides the useful part (ECONNREFUSED, a timeout) in `cause`. */
function describe(err: unknown): string {
  if (err instanceof Error && err.name === "TimeoutError") return `no answer in ${REQUEST_TIMEOUT_MS} ms`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}
