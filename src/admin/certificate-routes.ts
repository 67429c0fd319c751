import { NotFoundError, ValidationError, type Issue } from "../errors/index.js";
import type { IssuedCertificate } from "../identity/index.js";
import { checkNames } from "../registry/index.js";
import type { RouteSpec } from "./routes.js";

/** What `POST /v1/certificates` signs with: the built-in CA (or the one given by `--ca-cert/--ca-key`). */
export interface CertificateSigner {
  /** ValidationError on path `csr` for a CSR it refuses. */
  signWorkload(service: string, csrPem: string): Promise<IssuedCertificate>;
}

/** The exact answer (404) of `POST /v1/certificates` on a server built without a CA (an embedded server, tests). */
export const CA_OFF_MESSAGE = "this server runs no certificate authority, so it signs no certificates";

/**
 * `POST /v1/certificates` (README, "Security"): body
 * `{ "service": "<name>", "csr": "<PEM>" }`, answer 200
 * `{ "certificateChain", "caCertificate", "expiresAt" }` (IssuedCertificate).
 * The key stays with the workload; only its CSR travels.
 * Scope `identity:<service>` for the service named in the body (or
 * `operator`): a workload's token gets its own certificate and no other.
 */
export function createCertificateRoutes(signer: CertificateSigner | undefined): readonly RouteSpec[] {
  return [
    {
      method: "POST",
      url: "/v1/certificates",
      scope: { identity: (request) => serviceNamed(request.body) },
      handler: async (request) => {
        if (!signer) throw new NotFoundError(CA_OFF_MESSAGE);
        const { service, csr } = parseCertificateRequest(request.body);
        return signer.signWorkload(service, csr);
      },
    },
  ];
}

/** The body's `service` when it is a string, else "" (which no identity scope names; the handler then says what is wrong). */
function serviceNamed(body: unknown): string {
  const service = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["service"] : undefined;
  return typeof service === "string" ? service : "";
}

/** The body's two fields, every problem at once; `service` must be a DNS label like every name of the API. */
export function parseCertificateRequest(body: unknown): { service: string; csr: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError([{ path: "", message: 'must be a JSON object { "service": "<name>", "csr": "<PEM CSR>" }' }]);
  }
  const { service, csr, ...rest } = body as Record<string, unknown>;
  const issues: Issue[] = [];
  if (typeof service !== "string") issues.push({ path: "service", message: "must be a string, the service the certificate is for" });
  if (typeof csr !== "string") issues.push({ path: "csr", message: "must be a string, a PEM certificate signing request" });
  for (const field of Object.keys(rest)) issues.push({ path: field, message: "is not a field of a certificate request; allowed: service, csr" });
  if (issues.length > 0) throw new ValidationError(issues);
  checkNames(service as string);
  return { service: service as string, csr: csr as string };
}
