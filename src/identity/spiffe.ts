/** The SPIFFE ID of a service's workloads: `spiffe://<trust-domain>/service/<service>`. */
export function spiffeId(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/service/${service}`;
}

/** Trust domains are DNS names, lower case (SPIFFE ID spec, "Trust Domain"). */
export const TRUST_DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The default `--trust-domain`. */
export const DEFAULT_TRUST_DOMAIN = "steadymesh.local";
