import dns from "node:dns";

/**
 * The host resolver of an `xds-dns-fallback` gateway, as the lab models it:
 * names under the lab's DNS domain (`.mesh`) are answered by steadymesh's
 * DNS server (A records), every other name by the real `dns.lookup`
 * (getaddrinfo). In production the machine's resolver would forward the
 * mesh domain to steadymesh's DNS, as Consul DNS set-ups forward
 * `.consul`; a lab process cannot change the host's resolver, and grpc-js's
 * DNS resolver (which a LOGICAL_DNS Cluster uses) calls `dns.promises.lookup`,
 * so this patches that, `dns.lookup`, and `dns.promises.resolveTxt` (a mesh
 * name has no TXT service config: answered at once with ENODATA instead of
 * a query to the system resolver that would never find it).
 */
export interface MeshLookupOptions {
  /** `IP:PORT` of the DNS server that answers the domain. */
  readonly server: string;
  /** The forwarded domain, without dots around it (`mesh`). */
  readonly domain: string;
}

/** The environment variables the preload reads (set by the lab's fleet for this cohort's gateways only). */
export const MESH_LOOKUP_ENV = { server: "STEADYMESH_LAB_DNS_SERVER", domain: "STEADYMESH_LAB_DNS_DOMAIN" } as const;

/** True when `name` is the domain or under it (case-insensitive, a trailing dot allowed). */
export function inMeshDomain(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  const d = domain.toLowerCase();
  return n === d || n.endsWith(`.${d}`);
}

interface LookupAddress {
  address: string;
  family: number;
}

type LookupOptions = number | { family?: number | string; all?: boolean } | undefined;

function notFound(name: string, syscall: string, code = "ENOTFOUND"): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code} ${name}`), { code, syscall, hostname: name });
}

function wantsAll(options: LookupOptions): boolean {
  return typeof options === "object" && options.all === true;
}

function family(options: LookupOptions): number {
  const f = typeof options === "object" ? options.family : options;
  return f === 6 || f === "IPv6" ? 6 : f === 4 || f === "IPv4" ? 4 : 0;
}

/**
 * Installs the forwarding in this process (idempotent per process is not
 * needed: the preload runs once). Returns a function that restores the real
 * functions (for tests).
 */
export function installMeshLookup(options: MeshLookupOptions): () => void {
  const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([options.server]);
  const real = { lookup: dns.lookup, promisesLookup: dns.promises.lookup, resolveTxt: dns.promises.resolveTxt };

  async function meshLookup(hostname: string, opts: LookupOptions): Promise<LookupAddress | LookupAddress[]> {
    // steadymesh's DNS view has the instances' IPv4 addresses; an IPv6-only question finds nothing.
    if (family(opts) === 6) throw notFound(hostname, "getaddrinfo");
    let addresses: string[];
    try {
      addresses = await resolver.resolve4(hostname);
    } catch {
      // NXDOMAIN, no answer, or the server is down: getaddrinfo says ENOTFOUND for each.
      throw notFound(hostname, "getaddrinfo");
    }
    if (addresses.length === 0) throw notFound(hostname, "getaddrinfo");
    const all = addresses.map((address) => ({ address, family: 4 }));
    return wantsAll(opts) ? all : all[0]!;
  }

  const promisesLookup = (hostname: string, opts?: LookupOptions) =>
    inMeshDomain(hostname, options.domain) ? meshLookup(hostname, opts) : (real.promisesLookup as (h: string, o?: LookupOptions) => Promise<unknown>)(hostname, opts);

  function lookup(hostname: string, ...rest: unknown[]): void {
    const callback = rest.pop() as (err: NodeJS.ErrnoException | null, address?: unknown, family?: number) => void;
    const opts = rest[0] as LookupOptions;
    if (!inMeshDomain(hostname, options.domain)) {
      (real.lookup as (...args: unknown[]) => void)(hostname, ...(opts === undefined ? [] : [opts]), callback);
      return;
    }
    meshLookup(hostname, opts).then(
      (result) => (Array.isArray(result) ? callback(null, result) : callback(null, result.address, result.family)),
      (err: NodeJS.ErrnoException) => callback(err),
    );
  }

  const resolveTxt = (hostname: string) =>
    inMeshDomain(hostname, options.domain) ? Promise.reject(notFound(hostname, "queryTxt", "ENODATA")) : real.resolveTxt(hostname);

  const patched = dns as unknown as Record<string, unknown>;
  const patchedPromises = dns.promises as unknown as Record<string, unknown>;
  patched["lookup"] = lookup;
  patchedPromises["lookup"] = promisesLookup;
  patchedPromises["resolveTxt"] = resolveTxt;
  return () => {
    patched["lookup"] = real.lookup;
    patchedPromises["lookup"] = real.promisesLookup;
    patchedPromises["resolveTxt"] = real.resolveTxt;
  };
}
