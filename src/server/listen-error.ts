import { SteadyError } from "../errors/index.js";
import type { ListenerBind, ListenerName } from "./options.js";

/** The socket error codes a listener meets at start-up, found on the error, its causes, or in its message (gRPC only has the message). */
const KNOWN = ["EADDRINUSE", "EADDRNOTAVAIL", "EACCES"] as const;

/**
 * The one-line start-up error of a listener that cannot bind, the same for
 * xDS, the admin API and DNS:
 * `cannot listen for xds on 127.0.0.1:18000: address in use (another process has it; pick another --xds-port)`.
 * An already-translated error is returned as it is.
 */
export function listenError(listener: ListenerName, bind: ListenerBind, port: number, cause: unknown): SteadyError {
  if (cause instanceof ListenFailure) return cause;
  const where = `${bind.address.includes(":") ? `[${bind.address}]` : bind.address}:${port}`;
  return new ListenFailure(`cannot listen for ${listener} on ${where}: ${reason(listener, bind, port, cause)}`, { cause });
}

/** A listener could not bind its address; the message is listenError's one line. */
export class ListenFailure extends SteadyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

function reason(listener: ListenerName, bind: ListenerBind, port: number, cause: unknown): string {
  switch (socketCode(cause)) {
    case "EADDRINUSE":
      return `address in use (another process has it; pick another --${listener}-port)`;
    case "EADDRNOTAVAIL":
      return `address not available (no network interface of this machine has ${bind.address}; pick another ${bind.flag})`;
    case "EACCES":
      return port < 1024 ? `permission denied (ports below 1024 need privileges; pick another --${listener}-port)` : `permission denied (pick another --${listener}-port)`;
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}

/** The first known socket error code on `err` or its causes. */
function socketCode(err: unknown): (typeof KNOWN)[number] | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    const text = `${typeof code === "string" ? code : ""} ${e instanceof Error ? e.message : ""}`;
    const found = KNOWN.find((known) => new RegExp(`\\b${known}\\b`).test(text));
    if (found) return found;
  }
  return undefined;
}
