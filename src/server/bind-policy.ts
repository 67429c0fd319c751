import { SteadyError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import { isLoopback } from "./options.js";

/** What decides whether `serve` may listen on an address other machines reach. */
export interface BindPolicyInput {
  readonly bind: string;
  /** `--tls` (or `--tls-cert/--tls-key`). */
  readonly tls: boolean;
  /** Admin API authentication; on unless `--auth off`. */
  readonly auth: boolean;
  /** `--insecure-bind`: listen anyway, with a warning at every start. */
  readonly insecureBind: boolean;
}

/**
 * Refuses a non-loopback bind unless TLS and authentication are both on
 * (issue 16): a plain-text, open control plane on the network lets anyone
 * delete every service. Throws an invalid-argument SteadyError whose one line
 * says how to turn them on; with `insecureBind` it logs a warning instead.
 * Loopback binds always pass.
 */
export function checkBindPolicy(input: BindPolicyInput, logger: Logger): void {
  if (isLoopback(input.bind) || (input.tls && input.auth)) return;
  const missing = [!input.tls && "TLS is off", !input.auth && "authentication is off"].filter(Boolean).join(" and ");
  if (input.insecureBind) {
    logger.warn({ bind: input.bind }, `--insecure-bind: listening on ${input.bind}, reachable from other machines, although ${missing}; anyone who reaches it can read and change the registry`);
    return;
  }
  throw new SteadyError(
    "invalid-argument",
    `--bind ${input.bind} is not a loopback address and ${missing}; turn on --tls and authentication (--auth on, the default), or pass --insecure-bind to listen anyway`,
  );
}
