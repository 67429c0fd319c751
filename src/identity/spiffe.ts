/** The SPIFFE ID of a service's workloads: `spiffe://<trust-domain>/service/<service>`. */
export function spiffeId(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/service/${service}`;
}
