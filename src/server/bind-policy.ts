import { SteadyError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import { isLoopback, listenerBinds, type ServeOptions } from "./options.js";

/** What decides whether `serve` may listen on an address other machines reach. */
export interface BindPolicyInput {
  readonly bind: string;
  /** `--tls` (or `--tls-cert/--tls-key`). */
  readonly tls: boolean;
  /** Admin API authentication; on unless `--auth off`. */
  readonly auth: boolean;
  /** `--insecure-bind`: listen anyway, with a warning at every start. */
  readonly insecureBind: boolean;
  /**
   * The one listener this bind is for: xDS needs TLS only (it has no tokens),
   * the admin API TLS and authentication. Absent: xDS and the admin API both
   * (`--bind`), so TLS and authentication.
   */
  readonly listener?: "xds" | "admin";
  /** The flag that gave `bind`, for the message; `--bind` when absent. */
  readonly flag?: string;
}

/**
 * Refuses a non-loopback bind unless TLS and authentication are both on
 * (issue 16): a plain-text, open control plane on the network lets anyone
 * delete every service. For the xDS listener alone, TLS is enough. Throws an
 * invalid-argument SteadyError whose one line says how to turn them on; with
 * `insecureBind` it logs a warning instead. Loopback binds always pass.
 */
export function checkBindPolicy(input: BindPolicyInput, logger: Logger): void {
  const needsAuth = input.listener !== "xds";
  if (isLoopback(input.bind) || (input.tls && (input.auth || !needsAuth))) return;
  const flag = input.flag ?? "--bind";
  const missing = [!input.tls && "TLS is off", needsAuth && !input.auth && "authentication is off"].filter(Boolean).join(" and ");
  if (input.insecureBind) {
    logger.warn({ bind: input.bind, ...(input.listener && { listener: input.listener }) }, `--insecure-bind: listening on ${input.bind}, reachable from other machines, although ${missing}; anyone who reaches it can read and change the registry`);
    return;
  }
  const turnOn = needsAuth ? "turn on --tls and authentication (--auth on, the default)" : "turn on --tls";
  throw new SteadyError("invalid-argument", `${flag} ${input.bind} is not a loopback address and ${missing}; ${turnOn}, or pass --insecure-bind to listen anyway`);
}

/**
 * The bind rules for each listener of `serve`: the admin API beyond loopback
 * needs TLS and authentication, xDS beyond loopback TLS; DNS is plain text by
 * design (its rate limit goes on beyond loopback). `--auth off` needs a
 * loopback admin API. When xDS and the admin API share `--bind`, they are
 * checked once, as before per-listener binds existed.
 */
export function checkListenerBinds(options: Pick<ServeOptions, "bind" | "xdsBind" | "adminBind" | "dnsBind" | "tls" | "auth" | "insecureBind">, logger: Logger): void {
  const binds = listenerBinds(options);
  if (!options.auth && !isLoopback(binds.admin.address)) {
    throw new SteadyError("invalid-argument", `--auth off is allowed only with a loopback ${binds.admin.flag} (127.0.0.1 or ::1), not ${binds.admin.address}; drop --auth off to require admin API tokens`);
  }
  const common = { tls: options.tls !== undefined, auth: options.auth, insecureBind: options.insecureBind };
  if (binds.xds.flag === "--bind" && binds.admin.flag === "--bind") return checkBindPolicy({ bind: options.bind, ...common }, logger);
  checkBindPolicy({ bind: binds.admin.address, flag: binds.admin.flag, listener: "admin", ...common }, logger);
  checkBindPolicy({ bind: binds.xds.address, flag: binds.xds.flag, listener: "xds", ...common }, logger);
}
