import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { SteadyError, show } from "../errors/index.js";

/**
 * DNS rebinding protection for the admin API. A web page cannot make a
 * browser send a foreign Host to a loopback server except by rebinding its
 * own name to 127.0.0.1, so only names the operator chose may appear in
 * Host: the address the API is bound to, `localhost`, and `serve
 * --admin-host` names. A cross-site request (a form post, a `no-cors` fetch)
 * carries the page's Origin, which must name an allowed host as well; a
 * request without Origin (CLI, curl, scripts) is not from a web page.
 * Ports are not compared: an SSH tunnel or a port forward changes the port,
 * and a rebinding page cannot change the name.
 */
export interface HostGuard {
  /**
   * Adds the address the listener is bound to; a wildcard (0.0.0.0, ::)
   * allows every address of this machine's interfaces. Throws an
   * invalid-argument SteadyError for something that is not a host.
   */
  allowBound(address: string): void;
  /**
   * The one-line 403 message for a request's Host and Origin, or undefined
   * when both are allowed. A request without Host (HTTP/1.0, e.g. some load
   * balancers' health checks) is allowed: browsers always send one.
   */
  refusal(headers: { readonly host?: string | undefined; readonly origin?: string | undefined }): string | undefined;
}

export interface HostGuardOptions {
  /** Extra names (`serve --admin-host`): host names or IP addresses, without a port; anything else throws. */
  readonly names?: readonly string[];
  /** This machine's interface addresses, asked when a wildcard bind is allowed; os.networkInterfaces() by default. */
  readonly interfaceAddresses?: () => readonly string[];
}

/** `name`, `name:port`, `[v6]`, `[v6]:port`; what a Host header may look like (percent-escapes, zones and userinfo are not). */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/;
const WILDCARDS = new Set(["0.0.0.0", "::"]);
const MAX_SHOWN = 100;

export function createHostGuard(options: HostGuardOptions = {}): HostGuard {
  const interfaces = options.interfaceAddresses ?? localAddresses;
  const allowed = new Set<string>(["localhost"]);
  // For messages: bound addresses first, then --admin-host names.
  const bound: string[] = [];
  const named: string[] = [];
  let wildcard: string | undefined;
  for (const name of options.names ?? []) allow(name, named);

  function allow(name: string, shown: string[]): void {
    const canonical = canonicalHost(name);
    if (canonical === undefined) throw new SteadyError("invalid-argument", `admin host ${show(name)}: must be a host name or IP address, without a port`);
    if (WILDCARDS.has(canonical)) wildcard = canonical;
    else if (!allowed.has(canonical)) {
      allowed.add(canonical);
      shown.push(canonical);
    }
  }

  function isAllowed(host: string): boolean {
    if (allowed.has(host)) return true;
    // Asked per request, so an address the machine gains after start (DHCP, a new interface) works too.
    return wildcard !== undefined && interfaces().some((address) => canonicalHost(address) === host);
  }

  function describeAllowed(): string {
    const names = [...(wildcard ? [`any address of this machine (bound to ${wildcard})`] : []), ...bound, ...named, "localhost"];
    return names.join(", ");
  }

  function refuse(what: string, value: string, host: string): string {
    return `${what} ${quote(value)} is not allowed to use the admin API (DNS rebinding and cross-site protection); ` +
      `allowed hosts: ${describeAllowed()}; to allow it, start serve with --admin-host ${host}`;
  }

  function malformed(what: string, value: string, form: string): string {
    return `${what} ${quote(value)} is not ${form}, so it is not allowed to use the admin API; allowed hosts: ${describeAllowed()}`;
  }

  return {
    allowBound: (address) => allow(address, bound),
    refusal({ host, origin }) {
      if (host !== undefined) {
        const name = hostOfHeader(host);
        if (name === undefined) return malformed("host", host, "a host name or IP address with an optional port");
        if (!isAllowed(name)) return refuse("host", host, name);
      }
      if (origin !== undefined) {
        const name = hostOfOrigin(origin);
        if (name === undefined) return malformed("origin", origin, "an http(s) origin with a host (\"null\" is a sandboxed page or a file)");
        if (!isAllowed(name)) return refuse("origin", origin, name);
      }
      return undefined;
    },
  };
}

/**
 * A host name or IP address (no port) as the WHATWG URL parser writes it:
 * lowercase, IPv4 and IPv6 in their shortest form, IPv6 without brackets,
 * no trailing dot. Undefined when it is not one.
 */
export function canonicalHost(name: string): string | undefined {
  const unbracketed = /^\[.*\]$/.test(name) ? name.slice(1, -1) : name;
  // A colon outside an IPv6 address is a port, which a name must not have (URL would drop `:80` without a word).
  if (unbracketed.includes(":") && isIP(unbracketed) !== 6) return undefined;
  const url = parseUrl(`http://${isIP(unbracketed) === 6 ? `[${unbracketed}]` : unbracketed}/`);
  return url && url.pathname === "/" && url.username === "" ? bareHost(url) : undefined;
}

/** The host of a Host header (`name[:port]`, `[v6][:port]`), canonical; undefined when the header is not of that form. */
function hostOfHeader(value: string): string | undefined {
  const url = HOST_HEADER.test(value) ? parseUrl(`http://${value}/`) : undefined;
  return url && bareHost(url);
}

/** The host of an Origin header (`scheme://host[:port]`), canonical; undefined for `null` and anything without a host. */
function hostOfOrigin(value: string): string | undefined {
  const url = parseUrl(value);
  return url && (url.protocol === "http:" || url.protocol === "https:") && url.pathname === "/" ? bareHost(url) : undefined;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    // Not a URL; every caller turns undefined into its own refusal.
    return undefined;
  }
}

function bareHost(url: URL): string | undefined {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const bare = host.endsWith(".") ? host.slice(0, -1) : host;
  return bare === "" ? undefined : bare;
}

function localAddresses(): readonly string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
}

function quote(value: string): string {
  return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN - 1)}…` : value);
}
